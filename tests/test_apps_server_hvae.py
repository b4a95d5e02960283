"""The studio's temperature for hierarchical VAEs: samples.png?temperature=T, refused in one line for runs that
sample without one; over a tiny hvae and a VAE, through FastAPI's TestClient."""

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
from genlab.apps.testing import hvae_run, vae_run
from genlab.runs import load_run
from genlab.samplers import sample_images
from genlab.viz import grid_array

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio-hvae")
    return {"hvae": hvae_run(root), "vae": vae_run(root)}


@pytest.fixture(scope="module")
def client(runs):
    with TestClient(create_app([runs["hvae"], runs["vae"]])) as client:
        yield client


def pixels(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.asarray(Image.open(io.BytesIO(response.content)))


def test_only_the_hierarchical_vae_offers_a_temperature(client):
    listed = {run["name"]: run for run in client.get("/api/runs").json()}
    assert listed["hvae"]["can"]["temperature"] and not listed["vae"]["can"]["temperature"]
    assert listed["hvae"]["latent_dim"] == 2 * 7 * 7 and listed["hvae"]["can"]["interpolate"]


def test_samples_at_a_temperature_are_the_models_and_the_default_is_one(client, runs):
    get = lambda **q: pixels(client.get("/api/runs/hvae/samples.png", params={"n": 4, "seed": 3, **q}))  # noqa: E731
    assert np.array_equal(get(), get(temperature=1.0))
    model, _ = load_run(runs["hvae"])
    model.set_temperature(0.5)
    cooled = sample_images(model, 4, 3)
    assert np.array_equal(get(temperature=0.5), grid_array(cooled)[..., 0])
    assert not np.array_equal(get(temperature=0.5), get())
    assert np.array_equal(get(), get(temperature=1.0))  # the model's own temperature came back


@pytest.mark.parametrize(
    "run, query, status, text",
    [
        ("vae", {"temperature": 0.8}, 400, "cannot sample at a temperature"),
        ("hvae", {"temperature": -0.1}, 422, "temperature must be at least 0.0, got -0.1"),
        ("hvae", {"temperature": 2.5}, 422, "temperature must be at most 2.0, got 2.5"),
    ],
)
def test_a_temperature_a_run_cannot_take_is_one_line(client, run, query, status, text):
    response = client.get(f"/api/runs/{run}/samples.png", params=query)
    assert response.status_code == status and text in response.text
