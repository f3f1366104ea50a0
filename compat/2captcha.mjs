// The 2captcha package (3.x). Like the official client, its in.php and res.php addresses are the
// getters `in` and `res`. imageCaptcha(base64, extra) puts extra and the key in the query string
// and posts {"body": "<base64>"} with no content type of its own (node-fetch sends text/plain),
// so the server must read a JSON body whatever its content type and merge it with the query.
import { Solver } from "2captcha";
import { args, clickTiles, fixtures, picture, run } from "./lib.mjs";

const { base, key, "bad-key": badKey } = args();
const [cars, buses] = fixtures;
const pollMs = 250;

class LocalSolver extends Solver {
  get in() { return base + "/in.php"; }
  get res() { return base + "/res.php"; }
}

async function grid(s, f, extra = {}) {
  const r = await s.imageCaptcha(picture(f), { recaptcha: 1, textinstructions: f.question, recaptcharows: f.grid, recaptchacols: f.grid, ...extra });
  return { id: r.id, data: r.data, tiles: clickTiles(r.data) };
}

const solver = new LocalSolver(key, pollMs);
let lastId;

await run("2captcha", {
  grid_cars: async () => { const r = await grid(solver, cars); lastId = r.id; return r; },
  grid_buses: () => grid(solver, buses),
  grid_label_id: () => grid(solver, cars, { textinstructions: cars.label }),
  grid_no_match: () => grid(solver, { ...buses, question: cars.question }, { can_no_answer: 1 }),
  report_bad: () => solver.report(lastId),
  report_good: () => solver.goodReport(lastId),
  balance: () => solver.balance(),
  bad_key_grid: () => grid(new LocalSolver(badKey, pollMs), cars),
  bad_key_balance: () => new LocalSolver(badKey, pollMs).balance(),
  no_instructions: () => solver.imageCaptcha(picture(cars), { recaptcha: 1, recaptcharows: 3, recaptchacols: 3 }),
}, (err) => ({ code: String(err?.err ?? err?.name ?? "Error"), message: String(err?.message ?? err) }));
