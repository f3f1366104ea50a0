// The playground: one picture and question in, the answer drawn on the picture. It talks to the
// server it was loaded from and to nothing else.
"use strict";

const SVG = "http://www.w3.org/2000/svg"; // a namespace name, not an address: nothing is fetched
const $ = (id) => document.getElementById(id);
const state = { file: null, url: null };

function setState(s) { document.body.dataset.state = s; }

function choose(file, source) {
  if (!file || !file.type.startsWith("image/")) {
    showError("That is not a picture: choose a PNG, JPEG, GIF or WebP file.");
    return;
  }
  state.file = file;
  if (state.url) URL.revokeObjectURL(state.url);
  state.url = URL.createObjectURL(file);
  $("picked").textContent = (file.name || "pasted picture") + " · " + Math.round(file.size / 1024) + " KB";
  document.body.dataset.source = source;
  $("picture").src = state.url;
  $("overlay").replaceChildren();
  $("summary").textContent = "";
  $("answer").textContent = "";
  $("error").hidden = true;
  $("result").hidden = false;
  $("go").disabled = false;
  setState("chosen");
}

$("file").addEventListener("change", (e) => choose(e.target.files[0], "file"));

const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  choose(e.dataTransfer.files[0], "drop");
});
document.addEventListener("paste", (e) => {
  const item = [...e.clipboardData.items].find((i) => i.kind === "file" && i.type.startsWith("image/"));
  if (item) { e.preventDefault(); choose(item.getAsFile(), "paste"); }
});

// Labels for the question box and the caption: the server's own table.
const labelNames = new Map();
fetch("/playground/labels.json").then((r) => r.json()).then((labels) => {
  for (const l of labels) {
    labelNames.set(l.id, l.name);
    const o = document.createElement("option");
    o.value = l.name;
    o.label = l.id;
    $("labels").append(o);
  }
}).catch(() => {});

$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!state.file) return;
  const question = $("question").value.trim(), grid = $("grid").value, key = $("key").value;
  const name = state.file.name || "picture.png";
  const form = new FormData();
  form.append("image", state.file, name);
  form.append("question", question);
  if (grid) form.append("grid", grid);
  $("curl").textContent = curl(name, question, grid, key !== "");
  $("go").disabled = true;
  setState("busy");
  try {
    const resp = await fetch("/recognize", { method: "POST", body: form, headers: key ? { Authorization: "Bearer " + key } : {} });
    const body = await resp.json();
    $("answer").textContent = pretty(body);
    if (resp.ok) {
      await pictureLoaded();
      draw(body.solution);
      setState("done");
    } else {
      showError(body.error ? `${resp.status} ${body.error.code}: ${body.error.message} (trace id ${body.trace_id})` : `${resp.status}`);
    }
  } catch (err) {
    showError("The server did not answer: " + err.message);
  } finally {
    $("go").disabled = false;
  }
});

// pretty is indented JSON with arrays of plain values, and small flat objects, on one line.
function pretty(v) {
  return JSON.stringify(v, null, 2)
    .replace(/\[\s+([^\[\]{}]*?)\s+\]/g, (_, inner) => "[" + inner.replace(/\s+/g, " ") + "]")
    .replace(/\{\s+([^\[\]{}]{0,60}?)\s+\}/g, (_, inner) => "{" + inner.replace(/\s+/g, " ") + "}");
}

function showError(msg) {
  $("error").textContent = msg;
  $("error").hidden = false;
  $("result").hidden = false;
  $("overlay").replaceChildren();
  setState("error");
}

function pictureLoaded() {
  const img = $("picture");
  return img.complete && img.naturalWidth ? Promise.resolve() : new Promise((ok) => img.addEventListener("load", ok, { once: true }));
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// draw shows the grid, each tile's confidence, the chosen tiles and the click points, in the
// picture's own pixels (the answer's clicks are in those pixels too). Tiles are drawn as equal
// parts of the picture; a screenshot's margins make them approximate, the clicks are exact.
// Every answer shape is drawn: confidences and label are optional (task providers send neither
// confidences nor, for a single tile, anything but whether it shows the label).
function draw(s) {
  const img = $("picture"), svg = $("overlay");
  const w = img.naturalWidth, h = img.naturalHeight, n = parseInt(s.grid, 10) || 1;
  const tw = w / n, th = h / n;
  const objects = s.objects || [], clicks = s.clicks || [], confidences = s.confidences || [];
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.replaceChildren();
  const chosen = new Set(objects);
  for (let i = 0; i < n * n; i++) {
    const x = (i % n) * tw, y = Math.floor(i / n) * th;
    svg.append(el("rect", { class: chosen.has(i) ? "tile chosen" : "tile", "data-index": i, x, y, width: tw, height: th }));
    const c = confidences[i];
    if (typeof c === "number") {
      svg.append(el("text", { class: "conf", "data-index": i, x: x + tw * 0.06, y: y + th * 0.06 + Math.max(10, tw * 0.13), "font-size": Math.max(10, tw * 0.13) }, c.toFixed(2)));
    }
  }
  for (let k = 1; k < n; k++) {
    svg.append(el("line", { class: "gridline", x1: k * tw, y1: 0, x2: k * tw, y2: h }));
    svg.append(el("line", { class: "gridline", x1: 0, y1: k * th, x2: w, y2: k * th }));
  }
  const r = Math.max(4, Math.min(tw, th) * 0.07);
  for (const c of clicks) {
    svg.append(el("circle", { class: "clickring", cx: c.x, cy: c.y, r: r * 2 }));
    svg.append(el("circle", { class: "click", "data-index": c.index, cx: c.x, cy: c.y, r }));
  }
  const label = s.label && (labelNames.has(s.label) ? `${labelNames.get(s.label)} (${s.label})` : s.label);
  const what = `${s.grid} grid` + (label ? `, ${label}` : "");
  $("summary").textContent = objects.length
    ? `${what}: click tile${objects.length > 1 ? "s" : ""} ${objects.join(", ")}`
    : `${what}: no tile to click`;
}

// curl is the same request as a command: the key stays in $RECOGNIZER_KEY, never on the page.
function curl(name, question, grid, withKey) {
  const q = (v) => "'" + v.replace(/'/g, "'\\''") + "'";
  const lines = [`curl -s -X POST ${q(location.origin + "/recognize")}`];
  if (withKey) lines.push(`-H "authorization: Bearer $RECOGNIZER_KEY"`);
  lines.push(`-F ${q("image=@" + name)}`, `--form-string ${q("question=" + question)}`);
  if (grid) lines.push(`--form-string ${q("grid=" + grid)}`);
  return lines.join(" \\\n  ");
}

$("copy").addEventListener("click", () => {
  navigator.clipboard.writeText($("curl").textContent).then(() => { $("copy").textContent = "copied"; }, () => {});
});
