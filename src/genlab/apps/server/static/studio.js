// genlab studio: one page over the JSON/PNG API of `genlab serve` (docs/studio.md). No framework, no fetch
// outside this server: every URL below is relative to the page.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_UPLOAD = 5_000_000;  // the server's limit (5 MB)
const MAX_SEED = 2147483647;
const MAX_DIMS = 16;

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

// ---- run details: the training chart (one logged quantity against the optimizer step), eval, config ----

// Keys of the records that say where a record stands or how fast it ran, not what was learned.
const BOOKKEEPING = new Set(["kind", "epoch", "step", "seconds", "images_per_s", "nonfinite_skipped", "lr"]);
const PHASES = ["train", "test"];  // the epoch records' prefixes shown next to the steps' line
const STYLES = {
  steps: { color: "#1f77b4", width: 1.5, marker: null },
  train: { color: "#d9690b", width: 2, marker: "circle" },
  test: { color: "#2ca02c", width: 2, marker: "square" },
};
const CHART = { left: 72, right: 16, bottom: 46, legendRow: 18, font: "12px system-ui, sans-serif" };
let curves = { epochs: [], steps: [] };  // the selected run's training records (GET metrics)

const isNumber = (v) => typeof v === "number" && Number.isFinite(v);

// The records with a numeric step, sorted by it; of a step logged twice (a resume), the latest record.
function byStep(records) {
  const latest = new Map();
  for (const r of records) if (isNumber(r.step)) latest.set(r.step, r);
  return [...latest.values()].sort((a, b) => a.step - b.step);
}

// An epoch record's field split into [phase, quantity] ("test/d/loss" -> ["test", "d/loss"]), else null.
function phaseOf(field) {
  const slash = field.indexOf("/");
  const [phase, name] = [field.slice(0, slash), field.slice(slash + 1)];
  return slash > 0 && PHASES.includes(phase) && name ? [phase, name] : null;
}

// The logged quantities: the step records' numeric keys, then the epoch records' train/ and test/ ones.
function curveKeys({ epochs, steps }) {
  const keys = new Set();
  const add = (key, value) => { if (!BOOKKEEPING.has(key) && isNumber(value)) keys.add(key); };
  for (const r of steps) for (const [field, value] of Object.entries(r)) add(field, value);
  for (const r of epochs) {
    for (const [field, value] of Object.entries(r)) {
      const split = phaseOf(field);
      if (split) add(split[1], value);
    }
  }
  return [...keys];
}

// The chart shown first: "loss", else the first key with "loss" in it, taken among the quantities logged every
// few steps (a line) before those of the epoch records alone (dots); else the first quantity.
function defaultKey(keys, steps) {
  const logged = keys.filter((k) => steps.some((r) => isNumber(r[k])));
  for (const pool of [logged, keys]) {
    const found = pool.includes("loss") ? "loss" : pool.find((k) => k.includes("loss"));
    if (found) return found;
  }
  return keys[0];
}

// One field of the records as [step, value] points; a record without the field is left out, a null or another
// non-finite value stays as [step, null] (a gap).
function along(records, field) {
  return byStep(records).filter((r) => Object.hasOwn(r, field))
    .map((r) => [r.step, isNumber(r[field]) ? r[field] : null]);
}

// The chart's series of `key` that have a finite point: the steps' line, then the epochs' train and test values.
function curveSeries({ epochs, steps }, key) {
  return [
    { label: "logged steps", style: STYLES.steps, points: along(steps, key) },
    ...PHASES.map((phase) => ({
      label: `${phase}/${key} (epoch)`, style: STYLES[phase], points: along(epochs, `${phase}/${key}`),
    })),
  ].filter((s) => s.points.some(([, v]) => v !== null));
}

function extent(values) {
  let [low, high] = [Infinity, -Infinity];
  for (const v of values) { low = Math.min(low, v); high = Math.max(high, v); }
  return [low, high];
}

// A range around [low, high] widened by `margin` of its span; a single value gets a range of its own.
function padded([low, high], margin) {
  if (high - low <= 1e-12 * Math.max(Math.abs(low), Math.abs(high), 1)) {
    const half = Math.abs(low) * 0.1 || 1;
    return [low - half, high + half];
  }
  const span = high - low;
  return [low - margin * span, high + margin * span];
}

// At most about `count` round values (1, 2 or 5 times a power of ten apart, at least `least`) in [low, high].
function niceTicks(low, high, count, least = 0) {
  const raw = (high - low) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(least, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw));
  const ticks = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function formatTick(v) {
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

// The plot area in pixels and the maps from data to pixels.
function frameOf(canvas, top, xRange, yRange) {
  const frame = { left: CHART.left, top, right: canvas.width - CHART.right, bottom: canvas.height - CHART.bottom };
  frame.x = (v) => frame.left + ((v - xRange[0]) / (xRange[1] - xRange[0])) * (frame.right - frame.left);
  frame.y = (v) => frame.bottom - ((v - yRange[0]) / (yRange[1] - yRange[0])) * (frame.bottom - frame.top);
  frame.xRange = xRange;
  frame.yRange = yRange;
  return frame;
}

function clearChart(canvas) {
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = CHART.font;
  ctx.lineJoin = "round";
  return ctx;
}

function drawMessage(canvas, ctx, message) {
  ctx.fillStyle = "#555";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(message, canvas.width / 2, canvas.height / 2);
  canvas.setAttribute("aria-label", `Training curve: ${message}`);
}

function gridLine(ctx, x1, y1, x2, y2) {
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x2, y2);
  ctx.stroke();
}

// Grid lines and their labels, the frame, and the axes' titles ("step" and the quantity).
function drawAxes(ctx, frame, key) {
  ctx.lineWidth = 1;
  ctx.strokeStyle = "#e4e4e4";
  ctx.fillStyle = "#333";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const v of niceTicks(...frame.yRange, 5)) {
    gridLine(ctx, frame.left, frame.y(v), frame.right, frame.y(v));
    ctx.fillText(formatTick(v), frame.left - 6, frame.y(v));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const v of niceTicks(...frame.xRange, Math.max(4, Math.floor((frame.right - frame.left) / 80)), 1)) {
    gridLine(ctx, frame.x(v), frame.top, frame.x(v), frame.bottom);
    ctx.fillText(formatTick(v), frame.x(v), frame.bottom + 6);
  }
  ctx.strokeStyle = "#333";
  ctx.strokeRect(frame.left, frame.top, frame.right - frame.left, frame.bottom - frame.top);
  ctx.fillText("step", (frame.left + frame.right) / 2, frame.bottom + 26);
  ctx.save();
  ctx.translate(16, (frame.top + frame.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(key, 0, -4);
  ctx.restore();
}

function drawMarker(ctx, shape, x, y, size) {
  ctx.beginPath();
  if (shape === "square") ctx.rect(x - size, y - size, 2 * size, 2 * size);
  else ctx.arc(x, y, size, 0, 2 * Math.PI);
  ctx.fill();
}

// The points split at the gaps (nulls): runs of consecutive finite points.
function pieces(points) {
  const found = [[]];
  for (const [x, y] of points) {
    if (y !== null) found[found.length - 1].push([x, y]);
    else if (found[found.length - 1].length) found.push([]);
  }
  return found.filter((piece) => piece.length);
}

// A line through each piece of the series, a marker on each point (a dot on a point alone between gaps).
function drawSeries(ctx, frame, { style, points }) {
  ctx.strokeStyle = style.color;
  ctx.fillStyle = style.color;
  ctx.lineWidth = style.width;
  for (const piece of pieces(points)) {
    const xy = piece.map(([x, y]) => [frame.x(x), frame.y(y)]);
    ctx.beginPath();
    xy.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
    if (style.marker) for (const [x, y] of xy) drawMarker(ctx, style.marker, x, y, 3.5);
    else if (xy.length === 1) drawMarker(ctx, "circle", ...xy[0], 2.5);
  }
}

// Legend entries placed in rows across the top: [[{series, x}], ...].
function legendRows(ctx, series, width) {
  const rows = [[]];
  let x = CHART.left;
  for (const s of series) {
    const needed = 28 + ctx.measureText(s.label).width + 18;
    if (rows[rows.length - 1].length && x + needed > width - CHART.right) {
      rows.push([]);
      x = CHART.left;
    }
    rows[rows.length - 1].push({ series: s, x });
    x += needed;
  }
  return rows;
}

function drawLegend(ctx, rows) {
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  rows.forEach((row, i) => {
    const y = 14 + i * CHART.legendRow;
    for (const { series: { label, style }, x } of row) {
      ctx.strokeStyle = style.color;
      ctx.fillStyle = style.color;
      ctx.lineWidth = style.width;
      gridLine(ctx, x, y, x + 22, y);
      if (style.marker) drawMarker(ctx, style.marker, x + 11, y, 3.5);
      ctx.fillStyle = "#222";
      ctx.fillText(label, x + 28, y);
    }
  });
}

// The chart of the quantity chosen in #curve-key, from the records in `curves`.
function drawCurve() {
  const canvas = $("loss-canvas");
  const ctx = clearChart(canvas);
  const key = $("curve-key").value;
  if (!key) {
    const any = curves.epochs.length || curves.steps.length;
    drawMessage(canvas, ctx, any ? "no numbers in the training records" : "no training records");
    return;
  }
  const series = curveSeries(curves, key);
  if (!series.length) {
    drawMessage(canvas, ctx, `no finite values of ${key}`);
    return;
  }
  const xs = [...byStep(curves.steps), ...byStep(curves.epochs)].map((r) => r.step);  // all of training
  const ys = series.flatMap((s) => s.points.map(([, v]) => v).filter((v) => v !== null));
  const rows = legendRows(ctx, series, canvas.width);
  const frame = frameOf(canvas, 14 + rows.length * CHART.legendRow, padded(extent(xs), 0), padded(extent(ys), 0.05));
  drawAxes(ctx, frame, key);
  for (const s of series) drawSeries(ctx, frame, s);
  drawLegend(ctx, rows);
  const labels = series.map((s) => s.label).join(", ");
  canvas.setAttribute("aria-label", `Training curve of ${key} against the step: ${labels}`);
}

// New training records: the quantities in #curve-key (the default chosen), then the chart.
function showCurves(metrics) {
  curves = { epochs: metrics.epochs || [], steps: metrics.steps || [] };
  const keys = curveKeys(curves);
  const select = $("curve-key");
  select.replaceChildren(...keys.map((k) => new Option(k, k)));
  select.disabled = !keys.length;
  if (keys.length) select.value = defaultKey(keys, curves.steps);
  drawCurve();
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
    ["metrics", showCurves],
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
$("curve-key").addEventListener("change", drawCurve);
const drop = $("drop-zone");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  chooseFile(e.dataTransfer.files[0]);
});

start();
