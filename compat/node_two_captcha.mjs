// @infosimples/node_two_captcha, a 2Captcha client that reads the plain-text answers ("OK|id",
// "OK|click:1/5/9", "CAPCHA_NOT_READY", "ERROR_...") and posts url-encoded forms. Its host is a
// constant in its source and it calls its own copy of axios, so the one change a user makes is a
// request interceptor on that axios swapping the origin. decode() passes unknown options on to
// in.php, which carries the grid parameters.
import { createRequire } from "node:module";
import { args, fixtures, picture, run } from "./lib.mjs";

const require = createRequire(import.meta.url);
const entry = require.resolve("@infosimples/node_two_captcha");
const Client = require("@infosimples/node_two_captcha");
const { errors } = require("@infosimples/node_two_captcha/src/constants");
const vendorOrigin = "https://2captcha.com";
const { base, key, "bad-key": badKey } = args();
const [cars, buses] = fixtures;

const axios = createRequire(entry)("axios");
axios.interceptors.request.use((config) => {
  if (config.url.startsWith(vendorOrigin + "/")) config.url = base + config.url.slice(vendorOrigin.length);
  return config;
});

const client = (k) => new Client(k, { polling: 250, timeout: 30_000, throwErrors: true });

async function grid(c, f, textinstructions = f.question, extra = {}) {
  const captcha = await c.decode({ base64: picture(f), recaptcha: 1, textinstructions, recaptcharows: f.grid, recaptchacols: f.grid, ...extra });
  // indexes() reads the digits after "click:"; No_matching_images has none (its match is null).
  return { id: captcha.id, text: captcha.text, tiles: captcha.text === "No_matching_images" ? [] : captcha.indexes().map((n) => n - 1) };
}

let lastId;

await run("@infosimples/node_two_captcha", {
  grid_cars: async () => { const r = await grid(client(key), cars); lastId = r.id; return r; },
  grid_buses: () => grid(client(key), buses),
  grid_widget_sentence: () => grid(client(key), cars, "Select all images with cars"),
  grid_no_match: () => grid(client(key), buses, cars.question, { can_no_answer: 1 }),
  report_bad: () => client(key).report(lastId, true),
  report_good: () => client(key).report(lastId, false),
  balance: () => client(key).balance(),
  bad_key_grid: () => grid(client(badKey), cars),
  unknown_question: () => grid(client(key), cars, "llamas"),
}, (err) => {
  // The library throws the code's description; its own table turns it back into the code.
  const message = String(err?.message ?? err);
  const code = Object.keys(errors).find((c) => errors[c] === message) ?? (message.match(/ERROR_[A-Z_]+/) || ["Error"])[0];
  return { code, message };
});
