"""The studio's diffusion views (genlab.apps.server.diffusion): samples.png with a sampler, steps and guidance
weight, trajectory.png, and the 422 lines for options a run cannot take; over tiny conditional and unconditional
diffusion runs and a VAE, through FastAPI's TestClient."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient asks for httpx2
    from fastapi.testclient import TestClient
from PIL import Image

from genlab.apps.server import create_app
from genlab.apps.server.diffusion import LEVELS_HEADER, SAMPLING_HEADER
from genlab.apps.testing import diffusion_run, vae_run
from genlab.runs import load_run
from genlab.samplers import denoising_trajectory, sample_with
from genlab.viz import grid_array

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.slow]  # trains two diffusion runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Small conditional and unconditional diffusion runs (16 pixels, 3 Heun steps by default) and a VAE."""
    root = tmp_path_factory.mktemp("studio-diffusion")
    return {"cdiffusion": diffusion_run(root), "diffusion": diffusion_run(root, False), "vae": vae_run(root)}


@pytest.fixture(scope="module")
def client(runs):
    with TestClient(create_app([runs[name] for name in ("cdiffusion", "diffusion", "vae")])) as client:
        yield client


def pixels(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)))


def problem(response, status: int) -> str:
    assert response.status_code == status, response.text
    return response.json()["detail"]


def test_diffusion_runs_list_their_sampling_and_a_trajectory(client):
    listed = {run["name"]: run for run in client.get("/api/runs").json()}
    sampling = listed["cdiffusion"]["sampling"]
    assert (sampling["sampler"], sampling["steps"], sampling["guidance"]) == ("heun", 3, 0.0)
    assert set(sampling["samplers"]) == {"heun", "dpmpp-2m", "ddim", "euler", "ddpm"}
    assert (sampling["max_steps"], sampling["max_guidance"]) == (100, 8.0)
    assert listed["cdiffusion"]["can"]["trajectory"] and listed["diffusion"]["can"]["trajectory"]
    assert listed["cdiffusion"]["conditional"] and not listed["diffusion"]["conditional"]
    assert listed["vae"]["sampling"] is None and not listed["vae"]["can"]["trajectory"]


def test_samples_are_drawn_with_the_sampler_steps_and_guidance_asked_for(client, runs):
    model, _ = load_run(runs["cdiffusion"])
    options = {"sampler": "euler", "steps": 5, "guidance": 2.0}
    answer = client.get("/api/runs/cdiffusion/samples.png", params={"n": 8, "seed": 3, **options})
    assert np.array_equal(pixels(answer), grid_array(sample_with(model, 8, 3, **options))[..., 0])
    assert answer.headers[SAMPLING_HEADER].startswith("sampler euler, 5 steps: 5 network evaluations per sample")
    plain = client.get("/api/runs/cdiffusion/samples.png", params={"n": 8, "seed": 3})
    assert plain.headers[SAMPLING_HEADER] == "sampler heun, 3 steps: 5 network evaluations per sample"
    unguided = client.get("/api/runs/cdiffusion/samples.png", params={"n": 8, "seed": 3, **options, "guidance": 0})
    assert not np.array_equal(pixels(answer), pixels(unguided))
    assert model.default_sampling() == client.app.state.studio.runs[0].model.default_sampling()  # defaults kept
    assert SAMPLING_HEADER not in client.get("/api/runs/vae/samples.png", params={"n": 4}).headers


def test_the_trajectory_ends_at_the_samples_of_the_seed(client, runs):
    model, _ = load_run(runs["diffusion"])
    params = {"n": 3, "seed": 7, "frames": 6, "sampler": "dpmpp-2m", "steps": 10}
    answer = client.get("/api/runs/diffusion/trajectory.png", params=params)
    strip = pixels(answer)
    assert strip.shape == (3 * 18 + 2, 6 * 18 + 2)  # 3 rows of 6 frames of 16 pixels, 2-pixel borders
    levels = [float(level) for level in answer.headers[LEVELS_HEADER].split(",")]
    assert len(levels) == 6 and levels[0] == pytest.approx(80) and levels[-1] == 0
    assert "10 network evaluations" in answer.headers[SAMPLING_HEADER]
    samples = sample_with(model, 3, 7, sampler="dpmpp-2m", steps=10)
    last = np.stack([strip[2 + 18 * r : 18 * (r + 1), 2 + 18 * 5 : 18 * 6] for r in range(3)])
    assert np.array_equal(last, np.stack([grid_array(image[None], pad=0)[..., 0] for image in samples]))
    path = denoising_trajectory(model, 3, 7, 6, sampler="dpmpp-2m", steps=10)
    assert np.array_equal(strip, grid_array(path.denoised.flatten(0, 1), nrow=6)[..., 0])
    both = pixels(client.get("/api/runs/diffusion/trajectory.png", params={**params, "view": "both"}))
    assert both.shape == (6 * 18 + 2, 6 * 18 + 2)  # per sample, the noisy row above the denoised one
    noisy = pixels(client.get("/api/runs/diffusion/trajectory.png", params={**params, "view": "noisy"}))
    assert np.array_equal(noisy, grid_array(path.noisy.flatten(0, 1), nrow=6)[..., 0])
    assert np.array_equal(both[20:38], strip[2:20]) and np.array_equal(both[2:20], noisy[2:20])
    default = client.get("/api/runs/cdiffusion/trajectory.png")  # 4 samples; 3 Heun steps: 4 frames
    assert pixels(default).shape == (4 * 18 + 2, 4 * 18 + 2) and len(default.headers[LEVELS_HEADER].split(",")) == 4
    labelled = client.get("/api/runs/cdiffusion/trajectory.png", params={"label": 4, "guidance": 3})
    assert not np.array_equal(pixels(labelled), pixels(default))


@pytest.mark.parametrize(
    "path, params, why",
    [
        (
            "samples",
            {"sampler": "rk4"},
            "sampler must be one of 'ddpm', 'ddim', 'euler', 'heun' or 'dpmpp-2m', got 'rk4'",
        ),
        ("samples", {"steps": 0}, "steps must be at least 1, got 0"),
        ("trajectory", {"steps": 101}, "steps must be at most 100, got 101"),
        ("samples", {"guidance": 8.5}, "guidance must be at most 8.0, got 8.5"),
        ("samples", {"guidance": -1}, "guidance must be at least 0.0, got -1"),
        ("trajectory", {"guidance": "inf"}, "guidance: Input should be a finite number"),
        ("trajectory", {"frames": 17}, "frames must be at most 16, got 17"),
        ("trajectory", {"n": 9}, "n must be at most 8, got 9"),
        ("trajectory", {"view": "x"}, "view must be one of 'denoised', 'noisy' or 'both', got 'x'"),
    ],
)
def test_out_of_range_sampling_options_are_refused_in_one_line(client, path, params, why):
    assert problem(client.get(f"/api/runs/cdiffusion/{path}.png", params=params), 422) == why


def test_options_a_run_cannot_take_are_refused(client):
    unconditional = problem(client.get("/api/runs/diffusion/samples.png", params={"guidance": 1}), 422)
    assert unconditional.startswith("guidance needs a class-conditional run; run 'diffusion' was trained without")
    assert "leave out guidance" in problem(client.get("/api/runs/diffusion/trajectory.png?guidance=0"), 422)
    one_pass = problem(client.get("/api/runs/vae/samples.png", params={"sampler": "heun", "steps": 4}), 422)
    assert one_pass == "sampler, steps: for diffusion runs; run 'vae' (vae) draws in one pass, leave them out"
    trajectory = problem(client.get("/api/runs/vae/trajectory.png"), 400)
    assert trajectory == "run 'vae' cannot draw a denoising trajectory (it is not a diffusion model)"
    assert "not class-conditional" in problem(client.get("/api/runs/diffusion/trajectory.png?label=1"), 400)
    assert "0..9" in problem(client.get("/api/runs/cdiffusion/trajectory.png?label=10"), 400)


def test_the_schema_describes_the_diffusion_options(client):
    operations = client.get("/openapi.json").json()["paths"]
    samples = {p["name"] for p in operations["/api/runs/{run}/samples.png"]["get"]["parameters"]}
    assert {"sampler", "steps", "guidance"} <= samples
    answer = operations["/api/runs/{run}/trajectory.png"]["get"]["responses"]["200"]
    assert "image/png" in answer["content"] and set(answer["headers"]) == {SAMPLING_HEADER, LEVELS_HEADER}
