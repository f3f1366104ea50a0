// CapMonster Cloud's official client, pointed at this service by its serviceUrl option.
// ComplexImageTask of class recaptcha: one picture, metadata.Grid, and metadata.Task (text) or
// metadata.TaskDefinition (a label id); the answer is one boolean per tile.
import {
  CapMonsterCloudClientFactory,
  ClientOptions,
  ComplexImageRecaptchaRequest,
} from "@zennolab_com/capmonstercloud-client";
import { args, fixtures, picture, run, tiles } from "./lib.mjs";

const { base, key, "bad-key": badKey } = args();
const client = (clientKey, serviceUrl = base) => CapMonsterCloudClientFactory.Create(new ClientOptions({ clientKey, serviceUrl }));
const [cars, buses] = fixtures;

// solve is the library's whole flow: createTask, then getTaskResult every 200 ms for 10 s.
async function solve(c, metaData, image) {
  const r = await c.Solve(new ComplexImageRecaptchaRequest({ imagesBase64: [image], metaData }));
  return r.error ? { error: r.error } : { answer: r.solution.answer, tiles: tiles(r.solution.answer) };
}

async function createOnly(c, metaData, image) {
  const { errorId, errorCode } = await c.CreateTask(new ComplexImageRecaptchaRequest({ imagesBase64: [image], metaData }));
  return { errorId, errorCode };
}

const notAPicture = Buffer.from("not a picture").toString("base64");

await run("@zennolab_com/capmonstercloud-client", {
  cars_task_text: () => solve(client(key), { Grid: "3x3", Task: cars.question }, picture(cars)),
  buses_task_definition: () => solve(client(key), { Grid: "4x4", TaskDefinition: buses.label }, picture(buses)),
  cars_widget_sentence: () => solve(client(key), { Grid: "3x3", Task: "Select all images with cars" }, picture(cars)),
  // The client keeps only the host of serviceUrl: a path prefix is dropped.
  path_prefix_dropped: () => solve(client(key, base + "/some/prefix/"), { Grid: "3x3", Task: cars.question }, picture(cars)),
  balance: async () => (await client(key).getBalance()).balance,
  bad_key_solve: () => solve(client(badKey), { Grid: "3x3", Task: cars.question }, picture(cars)),
  bad_key_balance: async () => (await client(badKey).getBalance()).balance,
  unknown_task_id: () => client(key).GetTaskResult(987654321),
  no_matching_tiles: () => solve(client(key), { Grid: "4x4", Task: cars.question }, picture(buses)),
  // Solve turns codes missing from the client's ErrorType list into "Unknown"; CreateTask, also
  // public, hands back the reply with its errorCode.
  unknown_question: () => solve(client(key), { Grid: "3x3", Task: "llamas" }, picture(cars)),
  unknown_question_code: () => createOnly(client(key), { Grid: "3x3", Task: "llamas" }, picture(cars)),
  not_a_picture: () => solve(client(key), { Grid: "3x3", Task: cars.question }, notAPicture),
  not_a_picture_code: () => createOnly(client(key), { Grid: "3x3", Task: cars.question }, notAPicture),
}, (err) => ({ code: String(err?.errorType ?? err?.name ?? "Error"), message: String(err?.message ?? err) }));
