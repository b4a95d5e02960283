// genlab studio: one page over the JSON/PNG API of `genlab serve` (docs/studio.md). No framework, no fetch
// outside this server: every URL below is relative to the page.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_UPLOAD = 5_000_000;  // the server's limit (5 MB)
const MAX_SEED = 2147483647;
const MAX_DIMS = 16;
const BOOKKEEPING = new Set(["kind", "epoch", "step", "seconds", "images_per_s", "nonfinite_skipped"]);
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf"];

let runs = [];
let run = null;        // the selected run's record from /api/runs
let code = null;       // the traversal's latent code
let uploadFile = null;

// ---- errors and requests ----

function showError(message) {
  $("error-text").textContent = message;
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error-text").textContent = "";
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") return body.detail;
    if (body && Array.isArray(body.detail)) return body.detail.map((d) => d.msg || String(d)).join("; ");
  } catch (e) { /* not JSON */ }
  return `request failed: ${response.status} ${response.statusText}`;
}

// fetch with a few retries while the server answers 429 (busy); throws Error(detail) on any other failure.
async function request(url, options) {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, options);
    if (response.ok) return response;
    if (response.status === 429 && attempt < 5) {
      await new Promise((resolve) => setTimeout(resolve, 150 * (attempt + 1)));
      continue;
    }
    throw new Error(await errorOf(response));
  }
}

async function getJSON(path) {
  return (await request(path)).json();
}

function api(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") query.set(key, value);
  }
  const q = query.toString();
  return `api/runs/${encodeURIComponent(run.id)}/${path}${q ? "?" + q : ""}`;
}

// Show a fetched PNG in an <img> through an object URL (so a failure can be shown as text).
function setBlob(img, blob) {
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(blob);
  img.hidden = false;
}

// One loader per image: only the latest wanted URL is fetched next, never two at once for one image.
function coalesced(img) {
  let wanted = null;
  let busy = false;
  return function load(url, options) {
    wanted = { url, options };
    if (busy) return;
    busy = true;
    img.setAttribute("aria-busy", "true");
    (async () => {
      while (wanted) {
        const { url: u, options: o } = wanted;
        wanted = null;
        try {
          const blob = await (await request(u, o)).blob();
          if (!wanted) setBlob(img, blob);
        } catch (e) {
          if (!wanted) showError(e.message);
        }
      }
      busy = false;
      img.removeAttribute("aria-busy");
    })();
  };
}

const loaders = {};
for (const id of ["samples-img", "interp-img", "traverse-img", "manifold-img", "upload-img"]) {
  loaders[id] = coalesced($(id));
}

// ---- inputs ----

function intOf(input, low, high, fallback) {
  const value = Number.parseInt(input.value, 10);
  if (!Number.isFinite(value)) { input.value = fallback; return fallback; }
  const clamped = Math.min(high, Math.max(low, value));
  if (clamped !== value) input.value = clamped;
  return clamped;
}

const seedOf = (input) => intOf(input, 0, MAX_SEED, 0);
const label = () => (run && run.conditional ? $("class-select").value : "");
const can = (what) => Boolean(run && run.can && run.can[what]);
const randomSeed = () => crypto.getRandomValues(new Uint32Array(1))[0] & MAX_SEED;

// ---- the views ----

function loadSamples() {
  if (!can("sample")) return;
  loaders["samples-img"](api("samples.png", { n: intOf($("n"), 1, 256, 64), seed: seedOf($("seed")), label: label() }));
}

function loadInterpolation() {
  if (!can("interpolate")) return;
  const t = Number($("interp-t").value);
  $("interp-t-value").textContent = t.toFixed(2);
  loaders["interp-img"](api("interpolate.png", {
    a: seedOf($("interp-a")), b: seedOf($("interp-b")), t, method: $("interp-method").value, label: label(),
  }));
}

function decodeCode() {
  if (!code) return;
  const z = code.map((v) => Number(Math.max(-10, Math.min(10, v)).toFixed(4)));  // the server's range
  loaders["traverse-img"](api("decode.png", { z: z.join(","), label: label() }));
}

async function loadTraversal() {
  if (!can("traverse")) return;
  const current = run;
  try {
    const body = await getJSON(api("code", { seed: seedOf($("traverse-seed")) }));
    if (current !== run) return;
    code = body.z.map(Number);
  } catch (e) {
    showError(e.message);
    return;
  }
  const shown = Math.min(MAX_DIMS, code.length);
  $("traverse-note").textContent = code.length > shown ? `the first ${shown} of ${code.length} dimensions` : "";
  const box = $("traverse-sliders");
  box.replaceChildren();
  for (let i = 0; i < shown; i++) {
    const row = document.createElement("div");
    row.className = "slider";
    const name = document.createElement("label");
    name.htmlFor = `z-${i}`;
    name.textContent = `z${i}`;
    const slider = document.createElement("input");
    Object.assign(slider, { type: "range", id: `z-${i}`, min: "-4", max: "4", step: "0.05" });
    slider.value = String(Math.max(-4, Math.min(4, code[i])));
    slider.dataset.testid = `z-${i}`;
    const out = document.createElement("output");
    out.htmlFor = slider.id;
    out.textContent = Number(slider.value).toFixed(2);
    slider.addEventListener("input", () => {
      code[i] = Number(slider.value);
      out.textContent = code[i].toFixed(2);
      decodeCode();
    });
    row.append(name, slider, out);
    box.append(row);
  }
  decodeCode();
}

function loadManifold() {
  if (!(can("manifold") && run.latent_dim === 2)) return;
  loaders["manifold-img"](api("manifold.png", { steps: intOf($("manifold-steps"), 2, 30, 15), label: label() }));
}

function upload() {
  if (!uploadFile || !run) return;
  clearError();
  if (uploadFile.size > MAX_UPLOAD) {
    showError(`${uploadFile.name} is ${(uploadFile.size / 1e6).toFixed(1)} MB; the limit is 5 MB`);
    return;
  }
  if (uploadFile.type && !uploadFile.type.startsWith("image/")) {
    showError(`${uploadFile.name} is not an image (${uploadFile.type})`);
    return;
  }
  $("upload-img").hidden = true;
  const form = new FormData();
  form.append("file", uploadFile, uploadFile.name);
  loaders["upload-img"](api("upload.png", { action: $("upload-action").value }), { method: "POST", body: form });
}

function chooseFile(file) {
  if (!file) return;
  uploadFile = file;
  $("upload-run").disabled = false;
  upload();
}

// ---- run details: config, loss curves, eval ----

function niceTicks(low, high, count) {
  const span = high - low || Math.abs(high) || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const ticks = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function formatTick(v) {
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

function drawLosses(records) {
  const canvas = $("loss-canvas");
  const ctx = canvas.getContext("2d");
  const width = canvas.width;
  const height = canvas.height;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.font = "12px sans-serif";
  const keys = [];
  for (const record of records) {
    for (const [key, value] of Object.entries(record)) {
      if (!BOOKKEEPING.has(key) && typeof value === "number" && Number.isFinite(value) && !keys.includes(key)) keys.push(key);
    }
  }
  const points = records.filter((r) => typeof r.epoch === "number");
  if (!keys.length || !points.length) {
    ctx.fillStyle = "#555";
    ctx.fillText("no epoch records in metrics.jsonl yet", 20, height / 2);
    canvas.setAttribute("aria-label", "Loss curves: no epoch records yet");
    return;
  }
  const values = points.flatMap((r) => keys.map((k) => r[k]).filter((v) => typeof v === "number" && Number.isFinite(v)));
  const epochs = points.map((r) => r.epoch);
  let [yLow, yHigh] = [Math.min(...values), Math.max(...values)];
  let [xLow, xHigh] = [Math.min(...epochs), Math.max(...epochs)];
  if (yLow === yHigh) { yLow -= 1; yHigh += 1; }
  if (xLow === xHigh) { xLow -= 1; xHigh += 1; }
  const legendWidth = Math.min(220, width * 0.35);
  const box = { left: 64, top: 16, right: width - legendWidth - 12, bottom: height - 44 };
  const x = (v) => box.left + ((v - xLow) / (xHigh - xLow)) * (box.right - box.left);
  const y = (v) => box.bottom - ((v - yLow) / (yHigh - yLow)) * (box.bottom - box.top);

  // axes, ticks, labels
  ctx.strokeStyle = "#333";
  ctx.fillStyle = "#333";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(box.left, box.top);
  ctx.lineTo(box.left, box.bottom);
  ctx.lineTo(box.right, box.bottom);
  ctx.stroke();
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const v of niceTicks(yLow, yHigh, 5)) {
    ctx.fillText(formatTick(v), box.left - 6, y(v));
    ctx.strokeStyle = "#e4e4e4";
    ctx.beginPath(); ctx.moveTo(box.left + 1, y(v)); ctx.lineTo(box.right, y(v)); ctx.stroke();
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const v of niceTicks(xLow, xHigh, 6).filter(Number.isInteger)) ctx.fillText(String(v), x(v), box.bottom + 6);
  ctx.fillText("epoch", (box.left + box.right) / 2, height - 18);
  ctx.save();
  ctx.translate(14, (box.top + box.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText("value", 0, 0);
  ctx.restore();

  // one line per key, then the legend
  ctx.lineWidth = 2;
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  keys.forEach((key, i) => {
    const color = COLORS[i % COLORS.length];
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    const line = points.filter((r) => typeof r[key] === "number" && Number.isFinite(r[key]));
    ctx.beginPath();
    line.forEach((r, j) => (j ? ctx.lineTo(x(r.epoch), y(r[key])) : ctx.moveTo(x(r.epoch), y(r[key]))));
    ctx.stroke();
    for (const r of line) ctx.fillRect(x(r.epoch) - 3, y(r[key]) - 3, 6, 6);
    const ly = box.top + 8 + i * 16;
    if (ly < height - 8) {
      ctx.fillRect(box.right + 16, ly - 1, 14, 3);
      ctx.fillStyle = "#222";
      ctx.fillText(key, box.right + 36, ly);
    }
  });
  canvas.setAttribute("aria-label", `Loss curves per epoch: ${keys.join(", ")}`);
}

function showEval(report) {
  const body = $("eval-table").tBodies[0];
  body.replaceChildren();
  for (const [name, value] of report.rows || []) {
    const row = body.insertRow();
    row.insertCell().textContent = String(name);
    row.insertCell().textContent = String(value);
  }
  if (!(report.rows || []).length) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = 2;
    cell.textContent = "not scored yet (genlab eval RUN)";
  }
  const notes = (report.notes || []).map((line) => Object.assign(document.createElement("li"), { textContent: line }));
  if ((report.stale || []).length) {  // scores of other weights are left out of the rows
    notes.push(Object.assign(document.createElement("li"), {
      className: "stale", textContent: `stale (scored on other weights, not shown): ${report.stale.join(", ")}`,
    }));
  }
  $("eval-notes").replaceChildren(...notes);
}

async function loadDetails() {
  const current = run;
  const parts = [["config", (c) => { $("config").textContent = JSON.stringify(c, null, 2); }],
    ["metrics", (m) => drawLosses(m.epochs || [])],
    ["eval", showEval]];
  for (const [path, show] of parts) {
    try {
      const body = await getJSON(api(path));
      if (current === run) show(body);
    } catch (e) {
      if (current === run) showError(e.message);
    }
  }
}

// ---- run switching ----

function describe(r) {
  const parts = [r.model, r.data];
  if (r.points) parts.push("2-D points");
  else parts.push(`${r.image_size}×${r.image_size}×${r.channels}`);
  if (r.latent_dim !== null && r.latent_dim !== undefined) parts.push(`latent ${r.latent_dim}`);
  if (r.conditional) parts.push(`${r.num_classes} classes`);
  parts.push(`${r.epochs} epoch${r.epochs === 1 ? "" : "s"}`);
  return parts.join(" · ");
}

function selectRun(index) {
  run = runs[index];
  code = null;
  clearError();
  $("run-info").textContent = describe(run);
  $("samples-section").hidden = !can("sample");
  $("samples-h").textContent = run.points ? "Samples (scatter plot)" : "Samples";
  $("samples-img").classList.toggle("plot", Boolean(run.points));  // a chart, not native-size pixels
  $("interp-section").hidden = !can("interpolate");
  $("traverse-section").hidden = !can("traverse");
  $("traverse-sliders").replaceChildren();
  $("manifold-section").hidden = !(can("manifold") && run.latent_dim === 2);
  $("class-section").hidden = !run.conditional;
  const classes = $("class-select");
  classes.replaceChildren(new Option("mixed (no class)", ""));
  for (let c = 0; c < (run.num_classes || 0); c++) classes.add(new Option(String(c), String(c)));
  const actions = [];
  if (can("reconstruct")) actions.push("reconstruct");
  if (can("translate")) actions.push(...(run.directions || []));
  if (can("refine")) actions.push("refine");
  $("upload-action").replaceChildren(...actions.map((a) => new Option(a, a)));
  $("upload-section").hidden = !actions.length;
  $("upload-img").hidden = true;
  $("upload-run").disabled = !uploadFile;
  for (const id of ["samples-img", "interp-img", "traverse-img", "manifold-img"]) {
    if ($(id).src.startsWith("blob:")) URL.revokeObjectURL($(id).src);
    $(id).removeAttribute("src");
  }
  loadSamples();
  loadInterpolation();
  loadTraversal();
  loadManifold();
  loadDetails();
  const url = new URL(location.href);
  url.hash = encodeURIComponent(run.name);
  history.replaceState(null, "", url);
}

function reloadLabelled() {
  loadSamples();
  loadInterpolation();
  decodeCode();
  loadManifold();
}

async function start() {
  try {
    runs = await getJSON("api/runs");
  } catch (e) {
    showError(e.message);
    return;
  }
  const select = $("run-select");
  select.replaceChildren(...runs.map((r, i) => new Option(`${r.name} (${r.model})`, String(i))));
  if (!runs.length) { showError("no runs to show"); return; }
  const wanted = decodeURIComponent(location.hash.slice(1));
  const index = Math.max(0, runs.findIndex((r) => r.name === wanted));
  select.value = String(index);
  selectRun(index);
}

// ---- wiring ----

$("error-close").addEventListener("click", clearError);
$("run-select").addEventListener("change", (e) => selectRun(Number(e.target.value)));
$("class-select").addEventListener("change", reloadLabelled);
$("seed").addEventListener("change", loadSamples);
$("n").addEventListener("change", loadSamples);
$("new-samples").addEventListener("click", () => {
  $("seed").value = randomSeed();
  loadSamples();
});
for (const id of ["interp-a", "interp-b", "interp-method"]) $(id).addEventListener("change", loadInterpolation);
$("interp-t").addEventListener("input", loadInterpolation);
$("traverse-seed").addEventListener("change", loadTraversal);
$("manifold-steps").addEventListener("change", loadManifold);
$("upload-input").addEventListener("change", (e) => chooseFile(e.target.files[0]));
$("upload-action").addEventListener("change", upload);
$("upload-run").addEventListener("click", upload);
const drop = $("drop-zone");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  chooseFile(e.dataTransfer.files[0]);
});

start();
