"""genlab serve's backend (docs/studio.md): every endpoint over four tiny trained runs, through FastAPI's TestClient."""

from __future__ import annotations

import asyncio
import io
import os
import struct
import subprocess
import sys
import threading
import warnings
import xml.etree.ElementTree as ET
import zlib
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient asks for httpx2
    from fastapi.testclient import TestClient
from PIL import Image

import genlab
from genlab.apps.server import create_app, draw
from genlab.apps.server.limits import MAX_QUEUED, MAX_SAMPLES, Busy
from genlab.apps.server.queue import InferenceQueue
from genlab.apps.server.studio import translator_domains, upload_actions
from genlab.apps.testing import (
    conditional_gan_run,
    cyclegan_run,
    run_cli,
    toy_gan_run,
    vae_run,
)
from genlab.data import short_names
from genlab.data.folder import read_images
from genlab.evaluation import evaluate
from genlab.evaluation.scoring import merge_into
from genlab.samplers import sample_images
from genlab.testing.runs import QUIET, write_domains
from genlab.viz import grid_array

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The four tiny runs; the VAE scored (plus one entry of other weights), a damaged entry in the toy run's
    eval.json, the CycleGAN's eval.json not JSON, the conditional GAN's metrics.jsonl with a torn line and a NaN."""
    root = tmp_path_factory.mktemp("studio")
    folders = {
        "vae": vae_run(root),
        "cgan": conditional_gan_run(root),
        "toy": toy_gan_run(root),
        "cyclegan": cyclegan_run(root),
    }
    evaluate(folders["vae"], ["elbo"], device="cpu", images=64)
    merge_into(folders["vae"] / "eval.json", {"fid": {"fid": 1.0, "provenance": {"weights_sha256": "0" * 64}}})
    (folders["toy"] / "eval.json").write_text('{"elbo": {"neg_elbo": "x"}, "modes": 3}')
    (folders["cyclegan"] / "eval.json").write_text("{not json")
    with open(folders["cgan"] / "metrics.jsonl", "a") as f:
        f.write('{"kind": "step", "step": 99, "loss": NaN}\n{"kind": "epoch", "epo')
    return folders


@pytest.fixture(scope="module")
def client(runs):
    with TestClient(create_app([runs[name] for name in ("vae", "cgan", "toy", "cyclegan")])) as client:
        yield client


def problem(response, status: int) -> str:
    """The one-line detail of an error answer with ``status``."""
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in detail
    return detail


def pixels(response) -> np.ndarray:
    """The PNG of a 200 answer as an array."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)))


def encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def upload(client, run: str, data: bytes, action: str):
    return client.post(f"/api/runs/{run}/upload.png", params={"action": action}, files={"file": ("image", data)})


def test_runs_are_listed_with_what_each_can_do(client):
    listed = {run["name"]: run for run in client.get("/api/runs").json()}
    assert [listed[name]["id"] for name in ("vae", "cgan", "toy", "cyclegan")] == ["0", "1", "2", "3"]
    can = {name: {k for k, v in run["can"].items() if v} for name, run in listed.items()}
    assert can == {
        "vae": {"sample", "interpolate", "traverse", "manifold", "reconstruct"},
        "cgan": {"sample", "interpolate", "traverse"},
        "toy": {"sample"},
        "cyclegan": {"translate"},
    }
    assert listed["vae"]["latent_dim"] == 2 and listed["cyclegan"]["latent_dim"] is None
    assert listed["cgan"]["num_classes"] == 10 and listed["cgan"]["conditional"]
    assert not listed["vae"]["conditional"] and listed["toy"]["points"] and not listed["vae"]["points"]
    assert listed["cyclegan"]["directions"] == ["a2b", "b2a"] and listed["vae"]["directions"] == []
    assert (listed["vae"]["image_size"], listed["vae"]["channels"], listed["vae"]["epochs"]) == (28, 1, 2)
    assert listed["cyclegan"]["image_size"] == 32 and listed["toy"]["data"] == "toy2d:ring8"


def test_samples_depend_on_the_seed_only(client):
    first = pixels(client.get("/api/runs/vae/samples.png", params={"n": 64, "seed": 3}))
    assert first.shape == (8 * 30 + 2, 8 * 30 + 2)  # 8 x 8 images of 28 pixels with 2-pixel borders
    assert np.array_equal(first, pixels(client.get("/api/runs/0/samples.png", params={"n": 64, "seed": 3})))
    assert not np.array_equal(first, pixels(client.get("/api/runs/0/samples.png", params={"n": 64, "seed": 4})))
    assert pixels(client.get("/api/runs/0/samples.png")).shape == first.shape  # n = 64 by default


def test_label_picks_a_class_of_a_conditional_run(client, runs):
    from genlab.runs import load_run

    model, _ = load_run(runs["cgan"])
    for label in (3, 7):
        drawn = pixels(client.get("/api/runs/cgan/samples.png", params={"n": 8, "seed": 1, "label": label}))
        assert np.array_equal(drawn, grid_array(sample_images(model, 8, 1, label))[..., 0])
    assert "not class-conditional" in problem(client.get("/api/runs/vae/samples.png", params={"label": 1}), 400)
    assert "0..9" in problem(client.get("/api/runs/cgan/samples.png", params={"label": 10}), 400)
    problem(client.get("/api/runs/cgan/samples.png", params={"label": -1}), 422)


def test_decoding_the_seeds_code_is_the_start_of_its_path(client):
    z = client.get("/api/runs/vae/code", params={"seed": 5}).json()["z"]
    assert len(z) == 2 and all(isinstance(v, float) for v in z)
    decoded = pixels(client.get("/api/runs/vae/decode.png", params={"z": ",".join(map(repr, z))}))
    path = {
        (method, t): pixels(
            client.get("/api/runs/vae/interpolate.png", params={"a": 5, "b": 9, "t": t, "method": method})
        )
        for method in ("lerp", "slerp")
        for t in (0, 1)
    }
    assert decoded.shape == (28, 28) and np.array_equal(decoded, path["lerp", 0])
    assert np.abs(decoded.astype(int) - path["slerp", 0]).max() <= 1
    assert not np.array_equal(path["lerp", 0], path["lerp", 1])
    end = client.get("/api/runs/vae/code", params={"seed": 9}).json()["z"]
    assert np.array_equal(
        path["lerp", 1], pixels(client.get("/api/runs/vae/decode.png", params={"z": ",".join(map(repr, end))}))
    )


def test_a_conditional_run_decodes_in_the_class_asked_for(client):
    z = ",".join(map(repr, client.get("/api/runs/cgan/code", params={"seed": 2}).json()["z"]))
    first, second = (pixels(client.get("/api/runs/cgan/decode.png", params={"z": z, "label": k})) for k in (1, 8))
    assert not np.array_equal(first, second)


@pytest.mark.parametrize(
    "z, status, why",
    [
        ("1", 400, "needs 2"),
        ("1,2,3", 400, "needs 2"),
        ("1,11", 400, "[-10, 10]"),
        ("1e400,0", 400, "finite"),
        ("1,x", 422, "expected format"),
        ("inf,0", 422, "expected format"),
        ("nan,0", 422, "expected format"),
        ("", 422, "expected format"),
        ("1" * 40_000, 422, "at most"),
    ],
)
def test_bad_codes_are_refused_in_one_line(client, z, status, why):
    assert why in problem(client.get("/api/runs/vae/decode.png", params={"z": z}), status)


def test_manifold_only_for_a_2d_latent_space(client):
    assert pixels(client.get("/api/runs/vae/manifold.png", params={"steps": 5})).shape == (5 * 28, 5 * 28)
    assert "2-D" in problem(client.get("/api/runs/cgan/manifold.png"), 400)
    assert "cannot draw the latent manifold" in problem(client.get("/api/runs/cyclegan/manifold.png"), 400)
    assert "steps" in problem(client.get("/api/runs/vae/manifold.png", params={"steps": 31}), 422)


def test_toy_runs_draw_a_scatter_plot_and_no_images(client):
    assert pixels(client.get("/api/runs/toy/samples.png", params={"n": 100})).ndim == 3
    assert "2-D points" in problem(client.get("/api/runs/toy/code"), 400)
    assert "has no sample()" in problem(client.get("/api/runs/cyclegan/samples.png"), 400)


UPLOADS = {
    "png": lambda: encoded(Image.new("RGB", (50, 40), (200, 10, 10)), "PNG"),
    "jpeg": lambda: encoded(Image.radial_gradient("L").convert("RGB").resize((64, 48)), "JPEG"),
    "rgba": lambda: encoded(Image.new("RGBA", (20, 30), (10, 10, 200, 100)), "PNG"),
    "gray": lambda: encoded(Image.linear_gradient("L").resize((100, 80)), "PNG"),
    "gif": lambda: encoded(Image.new("P", (33, 33), 3), "GIF"),
    "16-bit": lambda: encoded(Image.new("I;16", (30, 30), 40000), "PNG"),
}


@pytest.mark.parametrize("kind", UPLOADS)
def test_uploads_go_through_the_model_decoded_as_folder_data(client, tmp_path, kind):
    data = UPLOADS[kind]()
    row = pixels(upload(client, "vae", data, "reconstruct"))
    assert row.shape == (32, 62)  # input | reconstruction, 28 pixels each
    (tmp_path / "upload").write_bytes(data)
    expected = grid_array(read_images([str(tmp_path / "upload")], 28, 1), pad=0)[..., 0]
    assert np.array_equal(row[2:30, 2:30], expected)
    assert np.array_equal(row, pixels(upload(client, "vae", data, "reconstruct")))
    for direction in ("a2b", "b2a"):
        assert pixels(upload(client, "cyclegan", data, direction)).shape == (36, 104, 3)  # input | there | back


def test_a_refiner_refines_one_way(tmp_path):
    a, b = write_domains(tmp_path / "domains", n=8)
    genlab.train(
        "refiner",
        data=f"unpaired:{a},{b}",
        preset="tiny",
        out=tmp_path / "refiner",
        **QUIET,
        overrides=["model.image_size=16", "train.batch_size=4", "train.epochs=1", "train.eval_images=4"],
    )
    with TestClient(create_app([tmp_path / "refiner"])) as client:
        listed = client.get("/api/runs").json()[0]
        assert listed["directions"] == ["a2b"] and listed["can"]["refine"] and listed["can"]["translate"]
        png = UPLOADS["png"]()
        refined = pixels(upload(client, "refiner", png, "refine"))
        assert refined.shape == (20, 38, 3) and np.array_equal(refined, pixels(upload(client, "0", png, "a2b")))
        assert "a2b only" in problem(upload(client, "refiner", png, "b2a"), 400)


@pytest.mark.parametrize(
    "data, status, why",
    [
        (b"", 415, "empty"),
        (os.urandom(2000), 415, "not an image"),
        (png_header(100_000, 100_000), 413, "4096x4096"),
        (png_header(5000, 4000), 413, "5000x4000"),
        (encoded(Image.new("RGB", (50, 40)), "PNG")[:60], 415, "decode"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", 415, "EPS"),
    ],
)
def test_bad_uploads_are_refused(client, data, status, why):
    assert why in problem(upload(client, "vae", data, "reconstruct"), status)


def test_oversized_uploads_are_refused_before_they_are_read(client):
    assert "5 MB" in problem(upload(client, "vae", b"\0" * 6_000_000, "reconstruct"), 413)  # by Content-Length
    assert "5 MB" in problem(upload(client, "vae", b"\0" * 5_010_000, "reconstruct"), 413)  # the file, not envelope
    status, reads = asyncio.run(stream_upload(client.app, chunks=200, chunk=100_000))  # 20 MB, no Content-Length
    assert status == 413 and reads < 60  # refused once 5 MB have come in; the rest is never read


async def stream_upload(app, chunks: int, chunk: int) -> tuple[int, int]:
    """The status of an upload streamed to the ASGI app without a Content-Length, and how many body messages the
    app read."""
    reads, sent = 0, []

    async def receive():
        nonlocal reads
        reads += 1
        if reads == 1:
            return {
                "type": "http.request",
                "more_body": True,
                "body": b'--b\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n',
            }
        return {"type": "http.request", "body": b"\0" * chunk, "more_body": reads <= chunks}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/runs/0/upload.png",
        "raw_path": b"/api/runs/0/upload.png",
        "root_path": "",
        "query_string": b"action=reconstruct",
        "server": ("test", 80),
        "client": ("test", 1),
        "headers": [(b"content-type", b"multipart/form-data; boundary=b")],
    }
    await app(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start"), reads


def test_upload_actions_are_named_by_the_domains_and_captioned_per_image(client):
    """A translator's directions by its domains' names, with a caption for each image of the row it answers."""
    listed = {run["name"]: run for run in client.get("/api/runs").json()}
    a, b = short_names(listed["cyclegan"]["data"])
    assert listed["cyclegan"]["domains"] == [a, b] and listed["vae"]["domains"] == []
    actions = {entry["action"]: entry for entry in listed["cyclegan"]["actions"]}
    assert (actions["a2b"]["label"], actions["b2a"]["label"]) == (f"{a} → {b}", f"{b} → {a}")
    for name, action in (("cyclegan", "b2a"), ("vae", "reconstruct")):
        captions = {entry["action"]: entry for entry in listed[name]["actions"]}[action]["captions"]
        row = pixels(upload(client, name, UPLOADS["png"](), action))
        assert row.shape[1] // listed[name]["image_size"] == len(captions)
    assert [c.split()[0] for c in actions["b2a"]["captions"]] == ["input", "translated", "back"]
    assert f"({b})" in actions["b2a"]["captions"][0] and f"({a})" in actions["b2a"]["captions"][1]
    named = SimpleNamespace(data=SimpleNamespace(name="unpaired:mnist,mnistm"))
    assert translator_domains(named) == ("mnist", "mnistm")
    assert translator_domains(SimpleNamespace(data=SimpleNamespace(name="unpaired:mnist,mnist"))) == ("A", "B")
    one_way = upload_actions({"reconstruct": False, "refine": True}, ["a2b"], translator_domains(named))
    assert [entry["label"] for entry in one_way] == ["mnist → mnistm", "refine (mnist → mnistm)"]
    assert all(len(entry["captions"]) == 2 for entry in one_way)  # a refiner's row has no way back


def test_out_of_range_values_are_refused_with_the_bound_and_the_value_sent(client):
    """A negative seed, too many samples, a seed that is no whole number: a 422 line naming the parameter."""
    for name, value, bound in (("seed", -5, "at least 0"), ("n", 40 * MAX_SAMPLES, f"at most {MAX_SAMPLES}")):
        detail = problem(client.get("/api/runs/vae/samples.png", params={name: value}), 422)
        assert detail.startswith(f"{name} must be {bound}") and detail.endswith(str(value))
    assert problem(client.get("/api/runs/vae/code", params={"seed": "1.5"}), 422).startswith("seed must be a whole")


def test_upload_actions_the_run_cannot_do_are_refused(client):
    png = UPLOADS["png"]()
    assert problem(upload(client, "vae", png, "a2b"), 400) == "run 'vae' cannot translate (it has no translate())"
    assert "reconstruct" in problem(upload(client, "cyclegan", png, "reconstruct"), 400)
    assert "both ways" in problem(upload(client, "cyclegan", png, "refine"), 400)
    assert "action" in problem(upload(client, "cyclegan", png, "sideways"), 422)
    assert "file" in problem(client.post("/api/runs/vae/upload.png", params={"action": "reconstruct"}), 422)


@pytest.mark.parametrize(
    "path",
    [
        "/api/runs/9/config",
        "/api/runs/nope/samples.png",
        "/api/runs/../x/config",
        "/api/runs/%2e%2e/config",
        "/api/runs/..%2fvae/config",
        "/api/runs/%0a/eval",
        "/api/runs/" + "x" * 150 + "/code",
        "/static/nope.js",
        "/static/%2e%2e",
        "/static/..%2f__init__.py",
        "/nowhere",
    ],
)
def test_nothing_but_the_served_runs_and_shipped_files_is_reachable(client, path):
    problem(client.get(path), 404)


def test_config_metrics_and_eval(client, runs):
    config = client.get("/api/runs/cyclegan/config").json()
    assert config["model_name"] == "cyclegan" and config["model"]["image_size"] == 32
    records = client.get("/api/runs/cgan/metrics").json()
    assert [r["epoch"] for r in records["epochs"]] == [1, 2]  # the torn line is skipped
    assert records["steps"][-1] == {"kind": "step", "step": 99, "loss": None}  # NaN is not JSON
    scored = client.get("/api/runs/vae/eval").json()
    assert scored["rows"][0][0] == "-ELBO (nats)" and "(64 test images)" in scored["notes"]
    assert scored["stale"] == ["fid"] and not any(label.startswith("FID") for label, _ in scored["rows"])
    assert client.get("/api/runs/cgan/eval").json() == {"rows": [], "notes": [], "stale": []}
    for run, what in (("toy", "the elbo entry of eval.json is damaged"), ("cyclegan", "eval.json is damaged")):
        damaged = client.get(f"/api/runs/{run}/eval").json()
        assert damaged["rows"] == [] and damaged["notes"][0].startswith(what)


def chart(response) -> ET.Element:
    """The SVG of a 200 answer, parsed."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    return ET.fromstring(response.content)


def legend(svg: ET.Element) -> list[str]:
    """The texts of a chart: its title, its legend's labels and its tick labels."""
    return [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]


def test_training_curves_are_svg_charts_of_the_runs_records(client):
    """/curves names the quantities (losses first, as reports chart them); curve.svg draws one: the steps' line
    and the epochs' dots, a lone test value as a marker, non-finite values left out."""
    assert client.get("/api/runs/vae/curves").json() == {"names": ["loss", "recon", "kl", "elbo"]}
    svg = chart(client.get("/api/runs/vae/curve.svg", params={"name": "kl"}))
    assert svg.get("aria-label") == "kl" and {"logged steps", "train (epoch)", "test (epoch)"} <= set(legend(svg))
    assert len(list(svg.iter("{http://www.w3.org/2000/svg}polyline"))) == 3
    names = client.get("/api/runs/cyclegan/curves").json()["names"]
    assert names[:3] == ["g/loss", "d/loss", "loss"] and "g/cycle" in names
    alone = chart(client.get("/api/runs/cyclegan/curve.svg", params={"name": "loss"}))  # test/loss only
    markers = list(alone.iter("{http://www.w3.org/2000/svg}circle"))
    assert len(markers) == 1 and float(markers[0].get("r")) > 4 and "test (epoch)" in legend(alone)
    torn = client.get("/api/runs/cgan/curve.svg", params={"name": "loss"})  # a NaN step and a torn line
    assert chart(torn).get("aria-label") == "loss" and b"nan" not in torn.content.lower()


@pytest.mark.parametrize(
    "path, params, status, why",
    [
        ("/api/runs/nope/curve.svg", {"name": "loss"}, 404, "nope"),
        ("/api/runs/nope/curves", {}, 404, "nope"),
        ("/api/runs/vae/curve.svg", {"name": "fid"}, 404, "loss, recon, kl, elbo"),
        ("/api/runs/vae/curve.svg", {"name": "<script>" * 20}, 404, "no curve"),
        ("/api/runs/vae/curve.svg", {}, 422, "name"),
        ("/api/runs/vae/curve.svg", {"name": "x" * 201}, 422, "name"),
    ],
)
def test_bad_curve_requests_are_one_line(client, path, params, status, why):
    assert why in problem(client.get(path, params=params), status)


def test_the_page_and_the_schema(client):
    assert client.get("/").headers["content-type"].startswith("text/html")
    assert client.get("/static/index.html").status_code == 200
    schema = client.get("/openapi.json").json()
    operations = {(method.upper(), path): op for path, ops in schema["paths"].items() for method, op in ops.items()}
    for name in ("samples", "decode", "interpolate", "manifold"):
        answers = operations["GET", f"/api/runs/{{run}}/{name}.png"]["responses"]
        assert "image/png" in answers["200"]["content"]
    assert "image/svg+xml" in operations["GET", "/api/runs/{run}/curve.svg"]["responses"]["200"]["content"]
    upload_op = operations["POST", "/api/runs/{run}/upload.png"]
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    assert {"413", "415"} <= set(upload_op["responses"])
    params = {p["name"]: p["schema"] for p in operations["GET", "/api/runs/{run}/samples.png"]["parameters"]}
    assert params["n"]["maximum"] == 256 and params["seed"]["minimum"] == 0
    assert {path for _, path in operations} >= {"/", "/static/{file}", "/api/runs", "/api/runs/{run}/code"} | {
        f"/api/runs/{{run}}/{name}" for name in ("config", "metrics", "eval", "curves")
    }


def test_a_full_queue_answers_busy(client):
    queue = client.app.state.studio.queue
    taken = [queue._slots.acquire(blocking=False) for _ in range(MAX_QUEUED)]
    try:
        assert all(taken) and "busy" in problem(client.get("/api/runs/vae/samples.png"), 429)
    finally:
        for _ in taken:
            queue._slots.release()
    assert client.get("/api/runs/vae/samples.png").status_code == 200


def test_the_queue_refuses_beyond_its_bound_and_frees_its_slots():
    async def scenario():
        queue, gate = InferenceQueue(1), threading.Event()
        waiting = asyncio.ensure_future(queue.run(gate.wait, 10))
        await asyncio.sleep(0.05)
        with pytest.raises(Busy):
            await queue.run(int, "1")
        gate.set()
        assert await waiting is True
        assert await queue.run(int, "3") == 3
        queue.close()

    asyncio.run(scenario())


def test_a_bug_answers_500_without_a_traceback(runs, monkeypatch):
    def broken(*args):
        raise RuntimeError("secret\nTraceback (most recent call last)")

    monkeypatch.setattr(draw, "samples_png", broken)
    with TestClient(create_app([runs["vae"]]), raise_server_exceptions=False) as client:
        detail = problem(client.get("/api/runs/0/samples.png"), 500)
    assert "RuntimeError" in detail and "secret" not in detail


def test_runs_of_the_same_name_get_distinct_names(runs):
    with TestClient(create_app([runs["vae"], runs["vae"], runs["toy"]])) as client:
        assert [r["name"] for r in client.get("/api/runs").json()] == ["vae", "vae-2", "toy"]


def test_genlab_and_its_cli_import_without_the_studio_extra():
    code = (
        "import sys, genlab, genlab.apps.cli, genlab.apps.server; genlab.apps.cli.build_parser(); "
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'python_multipart') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_cli_refuses_a_missing_run_and_a_missing_extra(capsys, tmp_path, monkeypatch):
    code, out, err = run_cli(capsys, "serve", tmp_path / "missing")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "does not exist" in err
    import genlab.apps.server

    monkeypatch.setattr(genlab.apps.server, "STUDIO_PACKAGES", (("fastapi",), ("no_such_module_here",)))
    code, out, err = run_cli(capsys, "serve", tmp_path / "missing")
    assert code == 2 and err.strip().splitlines() == ["genlab: error: " + genlab.apps.server.STUDIO_EXTRA]
