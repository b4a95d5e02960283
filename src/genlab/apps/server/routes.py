"""The studio's endpoints (docs/studio.md); each resolves its run by id or name, never by path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel, BeforeValidator

from ...samplers import sampler_names
from . import diffusion, draw
from .limits import (
    DEFAULT_FRAMES,
    DEFAULT_ROWS,
    DEFAULT_STEPS,
    MAX_CURVE_CHARS,
    MAX_FRAMES,
    MAX_GUIDANCE,
    MAX_ROWS,
    MAX_RUN_CHARS,
    MAX_SAMPLES,
    MAX_SAMPLING_STEPS,
    MAX_SEED,
    MAX_STEPS,
    MAX_TEMPERATURE,
    MAX_UPLOAD_BYTES,
    MAX_Z_CHARS,
    MIN_FRAMES,
    MIN_STEPS,
    UPLOAD_CHUNK,
    Z_PATTERN,
    NotFound,
    TooLarge,
    ascii_whole,
)
from .records import curve_names, curve_svg, eval_summary, json_safe, training_records
from .studio import ServedRun

STATIC = Path(__file__).resolve().parent / "static"
PNG = {200: {"content": {"image/png": {}}, "description": "a PNG image at the model's native size"}}
HEADERS = {
    diffusion.SAMPLING_HEADER: "diffusion runs: the sampler, its steps and the network evaluations per sample",
    diffusion.LEVELS_HEADER: "the noise level of each frame, comma-separated (0: the samples)",
}
SAMPLED = {200: {**PNG[200], "headers": {h: {"description": HEADERS[h]} for h in [diffusion.SAMPLING_HEADER]}}}
FRAMES = {200: {**PNG[200], "headers": {h: {"description": why} for h, why in HEADERS.items()}}}
SVG = {200: {"content": {"image/svg+xml": {}}, "description": "an SVG chart (no script, nothing to fetch)"}}
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"  # a chart opened on its own runs and loads nothing


class Problem(BaseModel):
    """Every error: one line."""

    detail: str


class Capabilities(BaseModel):
    sample: bool
    interpolate: bool
    traverse: bool
    manifold: bool
    reconstruct: bool
    translate: bool
    refine: bool
    trajectory: bool
    temperature: bool


class SamplingInfo(BaseModel):
    """A diffusion run's default sampling and what a request may choose."""

    sampler: str
    steps: int
    guidance: float
    samplers: list[str]
    max_steps: int
    max_guidance: float


Action = Literal["reconstruct", "a2b", "b2a", "refine"]  # what upload.png does to the image


class UploadAction(BaseModel):
    """An action of upload.png as the page offers it: its label and the captions of its row's images."""

    action: Action
    label: str
    captions: list[str]


class RunInfo(BaseModel):
    """One served run, as the page lists it."""

    id: str
    name: str
    model: str
    data: str
    image_size: int
    channels: int
    latent_dim: int | None
    num_classes: int
    conditional: bool
    points: bool
    directions: list[str]
    domains: list[str]
    actions: list[UploadAction]
    epochs: int
    sampling: SamplingInfo | None
    can: Capabilities


class TrainingRecords(BaseModel):
    epochs: list[dict[str, Any]]
    steps: list[dict[str, Any]]


class Curves(BaseModel):
    names: list[str]


class EvalTable(BaseModel):
    rows: list[tuple[str, str]]
    notes: list[str]
    stale: list[str]


class Code(BaseModel):
    z: list[float]


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": why}
    for status, why in (
        (400, "a parameter the run cannot use"),
        (404, "unknown run or file"),
        (422, "a parameter out of range or of the wrong type"),
        (429, "the studio is busy"),
    )
}
router = APIRouter(responses=ERRORS)


RunKey = Annotated[
    str, PathParam(max_length=MAX_RUN_CHARS, description="the run's index on the command line (0, 1, ...) or its name")
]


def served_run(request: Request, run: RunKey) -> ServedRun:
    """The run a path names (a 404 line for any other text)."""
    return request.app.state.studio.find(run)


Run = Annotated[ServedRun, Depends(served_run)]
Whole = BeforeValidator(ascii_whole)
Seed = Annotated[int, Query(ge=0, le=MAX_SEED, description="random seed"), Whole]
Label = Annotated[int | None, Query(ge=0, le=MAX_SEED, description="class (class-conditional runs only)"), Whole]
SamplerName = Annotated[
    Literal[tuple(sampler_names())] | None,  # type: ignore[valid-type]
    Query(description="diffusion runs: the solver (default: the run's)"),
]
SamplingSteps = Annotated[
    int | None,
    Query(ge=1, le=MAX_SAMPLING_STEPS, description="diffusion runs: noise levels (default: the run's)"),
    Whole,
]
Guidance = Annotated[
    float | None,
    Query(
        ge=0,
        le=MAX_GUIDANCE,
        allow_inf_nan=False,
        description="class-conditional diffusion runs: the classifier-free guidance weight w (default: the run's)",
    ),
]

Temperature = Annotated[
    float | None,
    Query(
        ge=0,
        le=MAX_TEMPERATURE,
        allow_inf_nan=False,
        description="hierarchical VAEs: the factor on every prior std when sampling (default 1)",
    ),
]


async def png(run: ServedRun, fn: Any, *args: Any) -> Response:
    """A PNG drawn on the inference thread."""
    return Response(await run.infer(fn, *args), media_type="image/png")


async def captioned_png(run: ServedRun, fn: Any, *args: Any) -> Response:
    """A PNG drawn on the inference thread, with the headers that caption it."""
    image, headers = await run.infer(fn, *args)
    return Response(image, media_type="image/png", headers=headers)


@router.get("/", response_class=HTMLResponse, summary="the studio page")
def page() -> HTMLResponse:
    """The one page (no CDN, nothing fetched from elsewhere)."""
    return HTMLResponse(shipped_file("index.html").read_text(encoding="utf-8"))


@router.get(
    "/static/{file}",
    response_class=FileResponse,
    summary="a shipped script or style sheet",
    responses={200: {"content": {"text/javascript": {}, "text/css": {}}}},
)
def static_file(file: Annotated[str, PathParam(max_length=100)]) -> FileResponse:
    """Only the files shipped beside the page."""
    return FileResponse(shipped_file(file))


def shipped_file(name: str) -> Path:
    """The shipped file of that name: looked up among the files of static/, never joined to a path."""
    shipped = {p.name: p for p in STATIC.iterdir() if p.is_file()} if STATIC.is_dir() else {}
    if name not in shipped:
        raise NotFound(f"no shipped file {name[:60]!r}")
    return shipped[name]


@router.get("/api/runs", response_model=list[RunInfo], summary="the served runs and what each can do")
def runs(request: Request) -> list[dict[str, Any]]:
    """Every run of this studio, in command-line order."""
    return [run.describe() for run in request.app.state.studio.runs]


@router.get("/api/runs/{run}/config", response_model=dict[str, Any], summary="the run's config.json")
def config(run: Run) -> dict[str, Any]:
    """The run's configuration, as loaded."""
    return json_safe(run.config.to_dict())


@router.get("/api/runs/{run}/metrics", response_model=TrainingRecords, summary="the training records")
def metrics(run: Run) -> dict[str, Any]:
    """Epoch and step records of metrics.jsonl (damaged lines skipped)."""
    return training_records(run.folder)


@router.get("/api/runs/{run}/curves", response_model=Curves, summary="the training curves of the run")
def curves(run: Run) -> dict[str, Any]:
    """The quantities metrics.jsonl holds numbers of (losses first): one chart each at curve.svg."""
    return {"names": curve_names(run.folder)}


@router.get("/api/runs/{run}/curve.svg", response_class=Response, responses=SVG, summary="one training curve")
def curve(
    run: Run, name: Annotated[str, Query(max_length=MAX_CURVE_CHARS, description="a quantity of /curves, e.g. loss")]
) -> Response:
    """One quantity against the optimizer step: a line through the logged steps, dots at the epochs' train and
    test values (drawn by genlab.charts, as reports draw it)."""
    return Response(
        curve_svg(run.folder, run.name, name),
        media_type="image/svg+xml",
        headers={"Content-Security-Policy": SVG_POLICY},
    )


@router.get("/api/runs/{run}/eval", response_model=EvalTable, summary="the eval table of eval.json")
def evaluation(run: Run) -> dict[str, Any]:
    """Rows of genlab eval's table for the served weights, the notes under it, and scores of other weights."""
    return eval_summary(run.folder, run.weights_sha256)


@router.get("/api/runs/{run}/samples.png", response_class=Response, responses=SAMPLED, summary="a grid of samples")
async def samples(
    run: Run,
    seed: Seed = 0,
    label: Label = None,
    n: Annotated[int, Query(ge=1, le=MAX_SAMPLES, description="number of samples"), Whole] = 64,
    sampler: SamplerName = None,
    steps: SamplingSteps = None,
    guidance: Guidance = None,
    temperature: Temperature = None,
) -> Response:
    """n samples of the seed in one grid; toy 2-D runs: the scatter plot. Diffusion runs draw with the sampler,
    steps and guidance weight asked for, and say what it cost in the Genlab-Sampling header; hierarchical VAEs at
    the temperature asked for."""
    choices = diffusion.sampling_choices(run, sampler, steps, guidance)
    if temperature is not None:
        run.require("temperature")
    if run.sampling is None:
        return await png(run, draw.samples_png, n, seed, label, temperature)
    return await captioned_png(run, diffusion.samples_png, n, seed, label, choices)


@router.get("/api/runs/{run}/trajectory.png", response_class=Response, responses=FRAMES, summary="a denoising path")
async def trajectory(
    run: Run,
    seed: Seed = 0,
    label: Label = None,
    n: Annotated[int, Query(ge=1, le=MAX_ROWS, description="samples, a row each"), Whole] = DEFAULT_ROWS,
    frames: Annotated[int, Query(ge=MIN_FRAMES, le=MAX_FRAMES, description="frames a row"), Whole] = DEFAULT_FRAMES,
    view: Literal["denoised", "noisy", "both"] = "denoised",
    sampler: SamplerName = None,
    steps: SamplingSteps = None,
    guidance: Guidance = None,
) -> Response:
    """The sampler's path for n samples of the seed: frames at evenly spaced solver steps, from pure noise (left)
    to the samples (right; the same images as samples.png of the seed and options), showing the denoised estimate
    D(x; sigma), the noisy x, or both; each frame's noise level in the Genlab-Noise-Levels header."""
    run.require("trajectory")
    choices = diffusion.sampling_choices(run, sampler, steps, guidance)
    return await captioned_png(run, diffusion.trajectory_png, n, seed, label, frames, view, choices)


@router.get("/api/runs/{run}/code", response_model=Code, summary="the prior code a seed draws")
async def code(run: Run, seed: Seed = 0) -> dict[str, Any]:
    """The latent code of the seed (what decode.png takes back as z)."""
    return {"z": await run.infer(draw.prior_code, seed)}


@router.get("/api/runs/{run}/decode.png", response_class=Response, responses=PNG, summary="one decoded code")
async def decode(
    run: Run,
    z: Annotated[
        str,
        Query(max_length=MAX_Z_CHARS, pattern=Z_PATTERN, description="latent_dim comma-separated numbers in [-10, 10]"),
    ],
    label: Label = None,
) -> Response:
    """The image a latent code decodes to."""
    return await png(run, draw.decode_png, z, label)


@router.get(
    "/api/runs/{run}/interpolate.png", response_class=Response, responses=PNG, summary="one image along a latent path"
)
async def interpolate(
    run: Run,
    a: Seed = 0,
    b: Seed = 1,
    t: Annotated[float, Query(ge=0, le=1, allow_inf_nan=False, description="0 = a, 1 = b")] = 0.5,
    method: Literal["slerp", "lerp"] = "slerp",
    label: Label = None,
) -> Response:
    """The image at t along the path between the codes of seeds a and b."""
    return await png(run, draw.interpolate_png, a, b, t, method, label)


@router.get("/api/runs/{run}/manifold.png", response_class=Response, responses=PNG, summary="the 2-D latent manifold")
async def manifold(
    run: Run,
    label: Label = None,
    steps: Annotated[int, Query(ge=MIN_STEPS, le=MAX_STEPS, description="images per side"), Whole] = DEFAULT_STEPS,
) -> Response:
    """A steps x steps grid of decoded Gaussian quantiles (2-D latent spaces only)."""
    return await png(run, draw.manifold_png, steps, label)


@router.post(
    "/api/runs/{run}/upload.png",
    response_class=Response,
    summary="an uploaded image through the model",
    responses={
        **PNG,
        413: {"model": Problem, "description": "over 5 MB or 4096x4096 pixels"},
        415: {"model": Problem, "description": "not an image"},
    },
)
async def upload(
    run: Run,
    action: Annotated[Action, Query()],
    file: Annotated[UploadFile, File(description="an image file (5 MB at most)")],
) -> Response:
    """A row: the upload at the model's size, then its reconstruction, translation (and the way back) or
    refinement."""
    draw.check_action(run, action)
    return await png(run, draw.upload_png, await read_upload(file), action)


async def read_upload(file: UploadFile) -> bytes:
    """The uploaded bytes, read in chunks; a 413 as soon as they pass MAX_UPLOAD_BYTES."""
    chunks, size = [], 0
    while chunk := await file.read(UPLOAD_CHUNK):
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            raise TooLarge(f"the upload is over the {MAX_UPLOAD_BYTES // 1_000_000} MB limit")
        chunks.append(chunk)
    return b"".join(chunks)
