// 2Captcha's official client (@2captcha/captcha-solver). Its in.php and res.php addresses are
// the getters `in` and `res` of Solver; a subclass overriding them is the only way to point it
// elsewhere. grid() posts a JSON body (numbers as JSON numbers) with method=base64 and
// recaptcha=1, then polls res.php?action=get; the answer is "click:1/5/9", 1-based.
import { Solver } from "@2captcha/captcha-solver";
import { args, clickTiles, fixtures, picture, run } from "./lib.mjs";

const { base, key, "bad-key": badKey } = args();
const [cars, buses] = fixtures;
const pollMs = 250;

class LocalSolver extends Solver {
  get in() { return base + "/in.php"; }
  get res() { return base + "/res.php"; }
}

async function grid(s, f, params) {
  const r = await s.grid({ body: picture(f), textinstructions: f.question, rows: f.grid, cols: f.grid, ...params });
  return { id: r.id, data: r.data, tiles: clickTiles(r.data) };
}

const solver = new LocalSolver(key, pollMs);
let lastId;

await run("@2captcha/captcha-solver", {
  grid_cars: async () => { const r = await grid(solver, cars, { imgType: "recaptcha" }); lastId = r.id; return r; },
  grid_buses: () => grid(solver, buses, {}),
  grid_widget_sentence: () => grid(solver, cars, { textinstructions: "Select all images with <strong>cars</strong>" }),
  // canSkip (can_no_answer=1) tells 2Captcha no tile may match; the answer is then No_matching_images.
  grid_no_match: () => grid(solver, { ...buses, question: cars.question }, { canSkip: 1 }),
  report_bad: () => solver.badReport(lastId),
  report_good: () => solver.goodReport(lastId),
  balance: () => solver.balance(),
  bad_key_grid: () => grid(new LocalSolver(badKey, pollMs), cars, {}),
  bad_key_balance: () => new LocalSolver(badKey, pollMs).balance(),
  image_instructions_only: () => solver.grid({ body: picture(cars), imginstructions: picture(cars), rows: 3, cols: 3 }),
  unknown_question: () => grid(solver, cars, { textinstructions: "llamas" }),
}, (err) => ({ code: String(err?.err ?? err?.name ?? "Error"), message: String(err?.message ?? err) }));
