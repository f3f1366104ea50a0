// anticaptcha, a community Anti-Captcha client whose createTask takes any task object, pointed
// at this service with setBaseURL on its apisauce instance (client.api). It reaches the task
// types whose vendors' own Node clients cannot be pointed elsewhere: ReCaptchaV2Classification
// (CapSolver, YesCaptcha) and GridTask (2Captcha's v2 API), and Anti-Captcha's
// ImageToCoordinatesTask. Its getTaskResult polls every retryInterval ms, the first time after one
// interval, and resolves the whole reply.
import { AntiCaptcha } from "anticaptcha";
import { args, fixtures, picture, run, tiles } from "./lib.mjs";

const { base, key, "bad-key": badKey } = args();
const [cars, buses] = fixtures;
const pollMs = 250;

function client(clientKey) {
  const c = new AntiCaptcha(clientKey);
  c.api.setBaseURL(base);
  return c;
}

async function task(c, t) {
  const taskId = await c.createTask(t);
  const reply = await c.getTaskResult(taskId, 40, pollMs);
  return { taskId, status: reply.status, solution: reply.solution };
}

await run("anticaptcha", {
  coordinates_cars: () => task(client(key), { type: "ImageToCoordinatesTask", body: picture(cars), comment: "Select all images with cars", mode: "points" }),
  coordinates_buses: () => task(client(key), { type: "ImageToCoordinatesTask", body: picture(buses), comment: buses.question, mode: "points" }),
  classification_cars: async () => {
    const r = await task(client(key), { type: "ReCaptchaV2Classification", image: picture(cars), question: cars.label });
    return { ...r, tiles: r.solution?.objects ?? null };
  },
  classification_buses_text: async () => {
    const r = await task(client(key), { type: "ReCaptchaV2Classification", image: picture(buses), question: buses.question });
    return { ...r, tiles: r.solution?.objects ?? null };
  },
  classification_no_match: async () => {
    const r = await task(client(key), { type: "ReCaptchaV2Classification", image: picture(buses), question: cars.label });
    return { ...r, tiles: r.solution?.objects ?? null };
  },
  coordinates_no_match: () => task(client(key), { type: "ImageToCoordinatesTask", body: picture(buses), comment: cars.question, mode: "points" }),
  grid_cars: () => task(client(key), { type: "GridTask", body: picture(cars), rows: 3, columns: 3, comment: "Select all images with cars" }),
  complex_image_cars: async () => {
    const r = await task(client(key), { type: "ComplexImageTask", class: "recaptcha", imagesBase64: [picture(cars)], metadata: { Grid: "3x3", Task: cars.question } });
    return { ...r, tiles: tiles(r.solution?.answer) };
  },
  balance: () => client(key).getBalance(),
  bad_key_create: () => client(badKey).createTask({ type: "ImageToCoordinatesTask", body: picture(cars), comment: cars.question }),
  bad_key_balance: () => client(badKey).getBalance(),
  unknown_task_id: () => client(key).getTaskResult(987654321, 2, pollMs),
  image_url_refused: () => client(key).createTask({ type: "ComplexImageTask", class: "recaptcha", imageUrls: ["http://127.0.0.1:9/x.jpg"], metadata: { Grid: "3x3", Task: cars.question } }),
  unsupported_task_type: () => client(key).createTask({ type: "RecaptchaV2TaskProxyless", websiteURL: "https://example.com/", websiteKey: "k" }),
}, (err) => ({ code: String(err?.code ?? err?.name ?? "Error"), message: String(err?.message ?? err) }));
