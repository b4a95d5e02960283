// genlab studio, part 1: errors, notes, requests and the values typed into the page (diffusion.js and studio.js,
// loaded after this file, draw the views). No framework, no fetch outside this server: every URL is relative to the page.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_UPLOAD = 5_000_000;  // the server's limits: 5 MB an upload, 256 samples a request, 2..30 manifold steps
const MAX_SEED = 2147483647;
const N = { name: "n", low: 1, high: 256, fallback: 64, most: "the most per request", least: "the fewest" };
const STEPS = { name: "steps", low: 2, high: 30, fallback: 15, most: "the most per side", least: "the fewest per side" };

// ---- errors: one banner; a request that starts after it appeared and succeeds takes it away ----

let errorShownAt = -Infinity;

function showError(message) {
  $("error-text").textContent = message;
  $("error").hidden = false;
  errorShownAt = performance.now();
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

// fetch with a few retries while the server answers 429 (busy); throws Error(detail) on any other failure. A
// success clears the error banner unless the error appeared while this request was on its way.
async function request(url, options) {
  const started = performance.now();
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, options);
    if (response.ok) {
      if (started > errorShownAt) clearError();
      return response;
    }
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

// ---- images: fetched PNGs shown through object URLs (so a failure can be shown as text) ----

function setBlob(img, blob) {
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(blob);
  img.hidden = false;
}

// One loader per image: only the latest wanted URL is fetched next, never two at once for one image; `shown`
// (optional) runs once its image is on the page (captions that belong to it), given the answer's headers.
function coalesced(img) {
  let wanted = null;
  let busy = false;
  return function load(url, options, shown) {
    wanted = { url, options, shown };
    if (busy) return;
    busy = true;
    img.setAttribute("aria-busy", "true");
    (async () => {
      while (wanted) {
        const { url: u, options: o, shown: s } = wanted;
        wanted = null;
        try {
          const response = await request(u, o);
          const blob = await response.blob();
          if (!wanted) {
            setBlob(img, blob);
            if (s) s(response.headers);
          }
        } catch (e) {
          if (!wanted) showError(e.message);
        }
      }
      busy = false;
      img.removeAttribute("aria-busy");
    })();
  };
}

// ---- values typed into the page: the page never changes one silently ----

// The lines of a section's note (role=status): what the page changed of the values typed there, or "".
function setNote(id, lines) {
  $(id).textContent = lines.join("; ");
  $(id).hidden = !lines.length;
}

// The whole number typed into `input`, within [spec.low, spec.high]: a value outside is clamped and anything
// else replaced by spec.fallback, in the field too, with a line in `notes` saying so.
function intOf(input, spec, notes) {
  const typed = input.value.trim();
  const value = Number(typed);
  if (typed === "" || !Number.isInteger(value)) {
    input.value = spec.fallback;
    notes.push(`${spec.name} must be a whole number; using ${spec.fallback}`);
    return spec.fallback;
  }
  const kept = Math.min(spec.high, Math.max(spec.low, value));
  if (kept !== value) {
    input.value = kept;
    notes.push(`${spec.name} clamped to ${kept} (${kept === spec.high ? spec.most : spec.least})`);
  }
  return kept;
}

const randomSeed = () => crypto.getRandomValues(new Uint32Array(1))[0] & MAX_SEED;

// A seed field's value as typed (the server refuses what is no seed, and the banner says why); an empty field
// draws a random seed and shows it, marked as the page's own (data-drawn).
function seedOf(input) {
  if (input.value.trim() === "") {
    input.value = randomSeed();
    input.dataset.drawn = "true";
  }
  return input.value.trim();
}

// A seed the user types is theirs: "New samples" keeps it.
for (const input of document.querySelectorAll("input[data-seed]")) {
  input.addEventListener("input", () => { delete input.dataset.drawn; });
}
