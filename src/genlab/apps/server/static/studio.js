// genlab studio, part 3: the views over the JSON/PNG API of `genlab serve` (docs/studio.md), run switching and
// the wiring; errors, requests and typed values are core.js's, a diffusion run's sampling and trajectory are
// diffusion.js's.
"use strict";

const MAX_DIMS = 16;

let runs = [];
let run = null;        // the selected run's record from /api/runs
let code = null;       // the traversal's latent code
let uploadFile = null;
let endpoints = "";    // the request the interpolation's start and end images show

function api(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") query.set(key, value);
  }
  const q = query.toString();
  return `api/runs/${encodeURIComponent(run.id)}/${path}${q ? "?" + q : ""}`;
}

const IMAGES = ["samples-img", "interp-start", "interp-img", "interp-end", "traverse-img", "manifold-img",
  "upload-img", "curve-img"];
const loaders = Object.fromEntries(IMAGES.map((id) => [id, coalesced($(id))]));
const label = () => (run && run.conditional ? $("class-select").value : "");
const can = (what) => Boolean(run && run.can && run.can[what]);

// ---- the views ----

function loadSamples() {
  if (!can("sample")) return;
  const notes = [];
  const params = { n: intOf($("n"), N, notes), seed: seedOf($("seed")), label: label(), ...samplingParams(notes) };
  if (can("temperature")) params.temperature = $("temperature").value;
  setNote("samples-note", notes);
  loaders["samples-img"](api("samples.png", params), undefined, (headers) => showLine("samples-line", headers));
}

// The image at t, and the path's endpoints (t = 0 and 1, captioned with their seeds) when they change.
function loadInterpolation() {
  if (!can("interpolate")) return;
  const t = Number($("interp-t").value);
  const path = { a: seedOf($("interp-a")), b: seedOf($("interp-b")), method: $("interp-method").value, label: label() };
  $("interp-t-value").textContent = t.toFixed(2);
  loaders["interp-img"](api("interpolate.png", { ...path, t }), undefined, () => {
    $("interp-caption").textContent = `t = ${t.toFixed(2)}`;
  });
  if (JSON.stringify(path) === endpoints) return;
  endpoints = JSON.stringify(path);
  for (const [end, t0, seed] of [["start", 0, path.a], ["end", 1, path.b]]) {
    loaders[`interp-${end}`](api("interpolate.png", { ...path, t: t0 }), undefined, () => {
      $(`interp-${end}-caption`).textContent = `${end}: seed ${seed}`;
    });
  }
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
  const notes = [];
  const steps = intOf($("manifold-steps"), STEPS, notes);
  setNote("manifold-note", notes);
  loaders["manifold-img"](api("manifold.png", { steps, label: label() }));
}

// The row of an upload under its captions (input, output, the way back), each under its image.
function showCaptions(captions) {
  const box = $("upload-captions");
  box.replaceChildren(...captions.map((text) => Object.assign(document.createElement("span"), { textContent: text })));
  box.style.gridTemplateColumns = `repeat(${captions.length}, minmax(0, 1fr))`;
  box.hidden = !captions.length;
}

function upload() {
  if (!uploadFile || !run) return;
  if (uploadFile.size > MAX_UPLOAD) {
    showError(`${uploadFile.name} is ${(uploadFile.size / 1e6).toFixed(1)} MB; the limit is 5 MB`);
    return;
  }
  if (uploadFile.type && !uploadFile.type.startsWith("image/")) {
    showError(`${uploadFile.name} is not an image (${uploadFile.type})`);
    return;
  }
  $("upload-img").hidden = true;
  $("upload-captions").hidden = true;
  const action = (run.actions || []).find((a) => a.action === $("upload-action").value);
  const form = new FormData();
  form.append("file", uploadFile, uploadFile.name);
  loaders["upload-img"](api("upload.png", { action: $("upload-action").value }), { method: "POST", body: form },
    () => showCaptions(action ? action.captions : []));
}

function chooseFile(file) {
  if (!file) return;
  uploadFile = file;
  $("upload-run").disabled = false;
  upload();
}

// ---- run details: the training curves (SVG charts the server draws, as reports draw them), eval, config ----

// The chart of the quantity chosen in #curve-key.
function loadCurve() {
  const name = $("curve-key").value;
  if (!run || !name) return;
  $("curve-img").alt = `Training curve of ${name} against the step`;
  loaders["curve-img"](api("curve.svg", { name }));
}

// The run's quantities (losses first) in #curve-key, then the chart of the first one.
function showCurves(body) {
  const names = body.names || [];
  const select = $("curve-key");
  select.replaceChildren(...names.map((k) => new Option(k, k)));
  select.disabled = !names.length;
  $("curve-note").hidden = names.length > 0;
  if (!names.length) $("curve-img").hidden = true;
  loadCurve();
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

// The run's config, curves and eval, one after the other; the section is aria-busy until they are in.
async function loadDetails() {
  const current = run;
  $("details-section").setAttribute("aria-busy", "true");
  const parts = [["config", (c) => { $("config").textContent = JSON.stringify(c, null, 2); }],
    ["curves", showCurves],
    ["eval", showEval]];
  for (const [path, show] of parts) {
    try {
      const body = await getJSON(api(path));
      if (current === run) show(body);
    } catch (e) {
      if (current === run) showError(e.message);
    }
  }
  if (current === run) $("details-section").removeAttribute("aria-busy");
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
  $("temperature-controls").hidden = !can("temperature");
  $("interp-section").hidden = !can("interpolate");
  $("traverse-section").hidden = !can("traverse");
  $("traverse-sliders").replaceChildren();
  $("manifold-section").hidden = !(can("manifold") && run.latent_dim === 2);
  $("class-section").hidden = !run.conditional;
  const classes = $("class-select");
  classes.replaceChildren(new Option("mixed (no class)", ""));
  for (let c = 0; c < (run.num_classes || 0); c++) classes.add(new Option(String(c), String(c)));
  const actions = run.actions || [];  // a direction labelled by its domains: "mnist → mnistm"
  $("upload-action").replaceChildren(...actions.map((a) => new Option(a.label, a.action)));
  $("upload-section").hidden = !actions.length;
  $("upload-img").hidden = true;
  $("upload-captions").hidden = true;
  $("upload-run").disabled = !uploadFile;
  for (const id of IMAGES.filter((i) => i !== "upload-img")) {
    if ($(id).src.startsWith("blob:")) URL.revokeObjectURL($(id).src);
    $(id).removeAttribute("src");
  }
  endpoints = "";
  selectDiffusion();
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
  loadTrajectory();
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
$("temperature").addEventListener("change", loadSamples);
$("temperature").addEventListener("input", () => {
  $("temperature-value").textContent = Number($("temperature").value).toFixed(1);
});
$("new-samples").addEventListener("click", () => {
  if ($("seed").dataset.drawn === "true") $("seed").value = "";  // the page's own seed: draw another; a typed one stays
  loadSamples();
});
for (const id of ["interp-a", "interp-b", "interp-method"]) $(id).addEventListener("change", loadInterpolation);
$("interp-t").addEventListener("input", loadInterpolation);
$("traverse-seed").addEventListener("change", loadTraversal);
$("manifold-steps").addEventListener("change", loadManifold);
$("upload-input").addEventListener("change", (e) => chooseFile(e.target.files[0]));
$("upload-action").addEventListener("change", upload);
$("upload-run").addEventListener("click", upload);
$("curve-key").addEventListener("change", loadCurve);
const drop = $("drop-zone");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  chooseFile(e.dataTransfer.files[0]);
});

start();
