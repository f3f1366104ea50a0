// node-capmonster, a community CapMonster Cloud client, pointed at this service through the
// baseURL of its public axios instance (client.request). Same ComplexImageTask as the official
// client, but it polls getTaskResult at once after createTask, then every 2 s.
import nodeCapmonster from "node-capmonster";
import { args, fixtures, picture, run, tiles } from "./lib.mjs";

const { ComplexImageTask } = nodeCapmonster;
const { base, key, "bad-key": badKey } = args();
const [cars, buses] = fixtures;

function client(clientKey) {
  const c = new ComplexImageTask(clientKey);
  c.request.defaults.baseURL = base;
  return c;
}

async function solve(c, metadata, image) {
  const taskId = await c.createWithTask({ class: "recaptcha", imagesBase64: [image], metadata });
  const solution = await c.joinTaskResult(taskId, 30);
  return { taskId, answer: solution.answer, tiles: tiles(solution.answer) };
}

await run("node-capmonster", {
  cars_task_text: () => solve(client(key), { Grid: "3x3", Task: cars.question }, picture(cars)),
  buses_task_definition: () => solve(client(key), { Grid: "4x4", TaskDefinition: buses.label }, picture(buses)),
  balance: () => client(key).getBalance(),
  bad_key_solve: () => solve(client(badKey), { Grid: "3x3", Task: cars.question }, picture(cars)),
  unknown_task_id: () => client(key).getTaskResult(987654321),
}, (err) => ({ code: String(err?.error?.errorCode ?? err?.name ?? "Error"), message: String(err?.message ?? err) }));
