// What every compat script shares: its command line, the fixture pictures, and one JSON report
// on stdout. Each case is run through the library as a user's code would call it; the report
// holds what the library handed back (or the error it raised), not what went over the wire.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

// stdout carries the report alone: libraries that chat on console.log are sent to stderr.
console.log = console.info = (...a) => console.error(...a);

// The pictures in events/images and what the emulated upstream of `make run` finds in them: the
// signature colour of the label is painted in these tiles (row-major, 0-based).
export const fixtures = [
  { name: "cars", file: "cars-3x3.jpg", question: "cars", label: "/m/0k4j", grid: 3, width: 300, height: 300 },
  { name: "buses", file: "buses-screenshot.jpg", question: "buses", label: "/m/01bjv", grid: 4, width: 388, height: 388 },
];

export function picture(fixture) {
  return readFileSync(new URL(`../events/images/${fixture.file}`, import.meta.url)).toString("base64");
}

// args reads --base URL --key KEY --bad-key KEY.
export function args(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "");
    if (argv[i + 1] === undefined) throw new Error(`${argv[i]} needs a value`);
    out[name] = argv[i + 1];
  }
  for (const need of ["base", "key", "bad-key"]) {
    if (!out[need]) throw new Error(`usage: node ${process.argv[1]} --base http://127.0.0.1:3000 --key KEY --bad-key KEY (missing --${need})`);
  }
  out.base = out.base.replace(/\/+$/, "");
  return out;
}

// version is the installed version of a package, read from its own package.json.
export function version(pkg) {
  const require = createRequire(import.meta.url);
  return require(`${pkg}/package.json`).version;
}

// tiles turns one boolean per tile into the indices of the true ones.
export function tiles(answer) {
  return Array.isArray(answer) ? answer.flatMap((v, i) => (v === true ? [i] : [])) : null;
}

// clickTiles turns 2Captcha's "click:1/5/9" (1-based) into 0-based tile indices, and its
// "No_matching_images" into none.
export function clickTiles(text) {
  if (text === "No_matching_images") return [];
  const m = /^click:([\d/]+)$/.exec(String(text));
  return m ? m[1].split("/").map((n) => Number(n) - 1) : null;
}

// A case that neither ends nor fails within this long is reported as a hang.
const caseTimeoutMs = 60_000;

// run calls each case in order and prints {library, version, cases: {name: {result | error}}}.
// errorOf turns whatever the library throws into {code, message} as its users would read it.
export async function run(library, cases, errorOf) {
  const report = { library, version: version(library), cases: {} };
  for (const [name, fn] of Object.entries(cases)) {
    const started = Date.now();
    let timer;
    try {
      const hang = new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${caseTimeoutMs} ms`), { hang: true })), caseTimeoutMs);
      });
      report.cases[name] = { result: (await Promise.race([fn(), hang])) ?? null };
    } catch (err) {
      report.cases[name] = { error: err && err.hang ? { code: "HANG", message: err.message } : errorOf(err) };
    } finally {
      clearTimeout(timer);
    }
    report.cases[name].ms = Date.now() - started;
  }
  process.stdout.write(JSON.stringify(report) + "\n");
  // Keep-alive agents and pending poll timers must not keep a finished run alive.
  process.exit(0);
}

// plainError is the fallback: the error's own code, else its message.
export function plainError(err) {
  if (typeof err === "string") return { code: err, message: err };
  return { code: String(err?.code ?? err?.errorCode ?? err?.name ?? "Error"), message: String(err?.message ?? err) };
}
