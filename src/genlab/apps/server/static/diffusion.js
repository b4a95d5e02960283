// genlab studio, part 2: a diffusion run's sampler, steps and guidance weight, and its denoising trajectory
// (docs/studio.md). `run`, `api`, `can`, `label` and `loadSamples` are studio.js's (loaded after this file); these
// functions run only once it is.
"use strict";

const ROWS = { name: "rows", low: 1, high: 8, fallback: 4, most: "the most per request", least: "the fewest" };
const FRAMES = { name: "frames", low: 2, high: 16, fallback: 8, most: "the most per row", least: "the fewest" };
const loadTrajectoryImage = coalesced($("trajectory-img"));

// This request's sampling options as the page shows them: the sampler, its steps and, for a class-conditional
// run, the guidance weight; none for a run that draws in one pass.
function samplingParams(notes) {
  const sampling = run && run.sampling;
  if (!sampling) return {};
  const steps = { name: "steps", low: 1, high: sampling.max_steps, fallback: sampling.steps,
    most: "the most per request", least: "the fewest" };
  const params = { sampler: $("sampler").value, steps: intOf($("sampling-steps"), steps, notes) };
  if (run.conditional) params.guidance = $("guidance").value;
  return params;
}

// What a draw cost ("sampler heun, 18 steps: 35 network evaluations per sample"), from its answer's header.
function showLine(id, headers) {
  const line = (headers && headers.get("Genlab-Sampling")) || "";
  $(id).textContent = line;
  $(id).hidden = !line;
}

// A trajectory's captions: each frame's noise level, the last frame the sample; then what the draw cost.
function showLevels(headers) {
  const levels = (headers.get("Genlab-Noise-Levels") || "").split(",").filter(Boolean);
  const box = $("trajectory-levels");
  const text = (sigma, i) => (i === levels.length - 1 ? "sample" : `σ ${sigma}`);
  box.replaceChildren(...levels.map((sigma, i) => Object.assign(document.createElement("span"),
    { textContent: text(sigma, i) })));
  box.style.gridTemplateColumns = `repeat(${levels.length}, minmax(0, 1fr))`;
  box.hidden = !levels.length;
  showLine("trajectory-line", headers);
}

function loadTrajectory() {
  if (!can("trajectory")) return;
  const notes = [];
  const params = {
    seed: seedOf($("trajectory-seed")), n: intOf($("trajectory-rows"), ROWS, notes),
    frames: intOf($("trajectory-frames"), FRAMES, notes), view: $("trajectory-view").value, label: label(),
  };
  Object.assign(params, samplingParams(notes));
  setNote("trajectory-note", notes);
  loadTrajectoryImage(api("trajectory.png", params), undefined, showLevels);
}

function showGuidance() {
  $("guidance-value").textContent = Number($("guidance").value).toFixed(1);
}

// The selected run's sampling controls (its defaults) and trajectory; all hidden for a run that draws in one pass.
function selectDiffusion() {
  const sampling = run.sampling;
  $("sampling-controls").hidden = !sampling;
  $("guidance-controls").hidden = !(sampling && run.conditional);
  $("trajectory-section").hidden = !can("trajectory");
  for (const id of ["samples-line", "trajectory-line", "trajectory-levels"]) $(id).hidden = true;
  const img = $("trajectory-img");
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.removeAttribute("src");
  if (!sampling) return;
  $("sampler").replaceChildren(...sampling.samplers.map((name) => new Option(name, name)));
  $("sampler").value = sampling.sampler;
  Object.assign($("sampling-steps"), { max: sampling.max_steps, value: sampling.steps });
  $("guidance").max = sampling.max_guidance;
  $("guidance").value = Math.min(sampling.guidance, sampling.max_guidance);
  showGuidance();
  loadTrajectory();
}

function resample() {
  loadSamples();
  loadTrajectory();
}

$("sampler").addEventListener("change", resample);
$("sampling-steps").addEventListener("change", resample);
$("guidance").addEventListener("input", () => { showGuidance(); resample(); });
for (const id of ["trajectory-seed", "trajectory-rows", "trajectory-frames", "trajectory-view"]) {
  $(id).addEventListener("change", loadTrajectory);
}
