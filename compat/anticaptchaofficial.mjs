// Anti-Captcha's official client. It has no setting for its host: every call is
// axios.post("https://api.anti-captcha.com/" + method) on the axios package it requires, so the
// one change a user makes is a request interceptor on that same axios that swaps the origin.
// ImageToCoordinatesTask (mode points) answers the centres of the matching tiles in the
// picture's own pixels.
import { createRequire } from "node:module";
import { args, fixtures, picture, run } from "./lib.mjs";

const require = createRequire(import.meta.url);
const ac = require("@antiadmin/anticaptchaofficial");
const vendorOrigin = "https://api.anti-captcha.com";
const { base, key, "bad-key": badKey } = args();
const [cars, buses] = fixtures;

// The axios instance the library itself resolves (not a second copy of the package).
const axios = createRequire(require.resolve("@antiadmin/anticaptchaofficial"))("axios");
axios.interceptors.request.use((config) => {
  if (config.url.startsWith(vendorOrigin + "/")) config.url = base + config.url.slice(vendorOrigin.length);
  return config;
});

ac.setAPIKey(key);
ac.shutUp(); // its progress lines would go to stdout
ac.settings.firstAttemptWaitingInterval = 0;
ac.settings.normalWaitingInterval = 0.25;

async function withKey(k, fn) {
  ac.setAPIKey(k);
  try {
    return await fn();
  } finally {
    ac.setAPIKey(key);
  }
}

await run("@antiadmin/anticaptchaofficial", {
  coordinates_cars: async () => ({ coordinates: await ac.solveImageToCoordinates(picture(cars), "Select all images with cars", "points"), taskId: ac.session.taskId }),
  coordinates_buses: async () => ({ coordinates: await ac.solveImageToCoordinates(picture(buses), buses.question, "points"), taskId: ac.session.taskId }),
  coordinates_no_match: async () => ({ coordinates: await ac.solveImageToCoordinates(picture(buses), cars.question, "points") }),
  report_incorrect_image: () => ac.reportIncorrectImageCaptcha(),
  report_incorrect_recaptcha: () => ac.reportIncorrectRecaptcha(),
  report_correct_recaptcha: () => ac.reportCorrectRecaptcha(),
  balance: () => ac.getBalance(),
  bad_key_solve: () => withKey(badKey, () => ac.solveImageToCoordinates(picture(cars), cars.question, "points")),
  bad_key_balance: () => withKey(badKey, () => ac.getBalance()),
  no_question: () => ac.solveImageToCoordinates(picture(cars), "", "points"),
}, (err) => (typeof err === "string" ? { code: err, message: err } : { code: String(err?.code ?? err?.name ?? "Error"), message: String(err?.message ?? err), status: err?.response?.status }));
