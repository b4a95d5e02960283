"""Folders decode once into a uint8 cache on disk and stream from it (data.stream, data.workers): the cache holds
exactly what decoding in memory gives, is reused until a file changes, is never trusted half-written, and a
streamed run trains -- and resumes mid-epoch -- bit for bit like one in memory."""

from __future__ import annotations

import json
import os
import types

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import genlab
from genlab import devices
from genlab.data import batches, load_dataset
from genlab.data import cache as cache_module
from genlab.data import folder as folder_module
from genlab.data.folder import image_files, load_folder
from genlab.errors import GenlabError
from genlab.testing.runs import straight_and_resumed

pytestmark = pytest.mark.usefixtures("one_thread")
QUIET = {"echo": lambda s: None}


def photos(root, n=30, gray_only=False, bad=True):
    """``n`` random images of a few sizes in two class subfolders (and files directly in ``root``), RGB unless
    ``gray_only``, plus an unreadable file."""
    rng = np.random.default_rng(0)
    for i in range(n):
        where = root / ("cats", "dogs", ".")[i % 3]
        where.mkdir(parents=True, exist_ok=True)
        h, w = (20, 24) if i % 2 else (18, 18)
        color = not gray_only and i % 4 != 0
        pixels = rng.integers(0, 256, (h, w, 3) if color else (h, w), dtype=np.uint8)
        Image.fromarray(pixels).save(where / f"{i:03d}.png")
    if bad:
        (root / "cats" / "broken.png").write_bytes(b"not a png")
    return root


def load(root, split="train", **options):
    options = {"image_size": 12, "test_fraction": 0.2, "seed": 3, "workers": 0, **options}
    return load_dataset(f"folder:{root}", split, **options)


def cache_files(root):
    return sorted(p.name for p in (root / ".genlab-cache").iterdir())


@pytest.fixture
def counted(monkeypatch):
    """The number of images decoded so far (in this process: data.workers=0)."""
    calls = []
    real = folder_module.read_image

    def counting(path, size):
        calls.append(path)
        return real(path, size)

    monkeypatch.setattr(folder_module, "read_image", counting)
    return calls


@pytest.mark.parametrize("gray_only, channels", [(False, 0), (True, 0), (False, 1), (True, 3)])
def test_the_cache_holds_exactly_what_decoding_in_memory_gives(tmp_path, gray_only, channels):
    root = photos(tmp_path / "photos", gray_only=gray_only)
    for split in ("train", "test"):
        memory = load(root, split, stream="never", channels=channels)
        for stream in ("auto", "always"):
            cached = load(root, split, stream=stream, channels=channels)
            assert (cached.stream is not None) == (stream == "always")
            assert torch.equal(cached.images, memory.images) and torch.equal(cached.labels, memory.labels)
            assert (cached.classes, cached.name) == (memory.classes, memory.name)
    assert load_folder(str(root), 12, channels).images.shape[1] == memory.images.shape[1]
    assert memory.images.shape[1] == (channels or (1 if gray_only else 3))


def test_any_number_of_workers_writes_the_same_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "DECODE_CHUNK", 4)  # several tasks for the workers
    written = {}
    for workers in (0, 2):
        root = photos(tmp_path / f"w{workers}")
        load(root, workers=workers)
        folder = root / ".genlab-cache"
        written[workers] = {p.suffix: p.read_bytes() for p in folder.iterdir() if p.suffix in (".u8", ".json")}
    meta = [json.loads(written[w].pop(".json")) for w in (0, 2)]
    same = [{k: v for k, v in m.items() if k not in ("folder", "key")} for m in meta]  # the paths differ
    assert written[0] == written[2] and same[0] == same[1]
    assert meta[0]["shape"] == [30, 3, 12, 12] and meta[0]["skipped"] == [["cats/broken.png", "UnidentifiedImageError"]]
    assert meta[0]["classes"] == [".", "cats", "dogs"] and len(meta[0]["labels"]) == 30


def test_the_cache_is_reused_and_rebuilt_when_a_file_changes(tmp_path, counted):
    root = photos(tmp_path / "photos")
    first = load(root, "train")
    assert len(counted) == 31  # every candidate file, the broken one too
    load(root, "test")
    load(root, "train", stream="always")
    assert len(counted) == 31  # both splits and streaming read the cache
    old = set(cache_files(root))
    changed = root / "dogs" / "001.png"
    Image.new("RGB", (18, 18), (255, 0, 0)).save(changed)
    os.utime(changed, ns=(1, 1))  # a changed file: a new mtime (and here a new size)
    again = load(root, "train")
    assert len(counted) == 62 and not torch.equal(again.images, first.images)
    assert not old & set(cache_files(root))  # the old fingerprint's files are gone
    (root / "cats" / "extra.png").write_bytes((root / "cats" / "000.png").read_bytes())  # an added file
    assert len(load(root, "train")) == len(first) + 1 and len(counted) == 62 + 32
    (root / "cats" / "extra.png").unlink()  # a removed one
    assert len(load(root, "train")) == len(first) and len(counted) == 62 + 32 + 31
    assert len([f for f in cache_files(root) if f.endswith(".json")]) == 1


def test_a_killed_or_partial_cache_is_not_trusted(tmp_path, counted, monkeypatch):
    root = photos(tmp_path / "photos")
    expected = load(root, stream="never").images
    real, calls = folder_module.read_image, []

    def killed(path, size):  # the build dies half-way
        calls.append(path)
        if len(calls) == 10:
            raise KeyboardInterrupt
        return real(path, size)

    monkeypatch.setattr(folder_module, "read_image", killed)
    with pytest.raises(KeyboardInterrupt):
        load(root)
    assert [f for f in cache_files(root) if not f.endswith(".lock")] == []  # nothing half-written is left
    monkeypatch.setattr(folder_module, "read_image", real)
    assert torch.equal(load(root).images, expected)
    images = next((root / ".genlab-cache").glob("*px-*c-*[0-9a-f].u8"))
    meta = images.with_suffix(".json")
    images.write_bytes(images.read_bytes()[:100])  # a cache cut short (a copy, a full disk)
    (images.parent / f"{images.name}.c3.999.tmp").write_bytes(b"left by a killed build")
    assert torch.equal(load(root).images, expected)
    assert not any(f.endswith(".tmp") for f in cache_files(root))
    meta.unlink()  # images without their JSON (killed before it was written)
    monkeypatch.setattr(folder_module, "read_image", lambda path, size: calls.append(path) or real(path, size))
    calls.clear()
    assert torch.equal(load(root).images, expected) and len(calls) == 31
    meta.write_text("{not json")
    assert torch.equal(load(root).images, expected) and len(calls) == 62


def test_streamed_batches_equal_batches_in_memory(tmp_path):
    root = photos(tmp_path / "photos", n=40, bad=False)
    memory, streamed = (load(root, stream=s, image_size=8) for s in ("never", "always"))
    assert streamed.stream is not None

    def share(t):  # replica 1 of 2
        return t[len(t) // 2 :]

    for options in (
        {"shuffle": True, "seed": 5, "start": 1},
        {"shuffle": True, "seed": 5, "drop_last": True, "shard": share},
        {"binarize": "dynamic", "shard": share},
    ):
        for workers in (0, 2):
            a = list(batches(memory, 6, generator=torch.Generator().manual_seed(0), **options))
            b = list(batches(streamed, 6, generator=torch.Generator().manual_seed(0), workers=workers, **options))
            assert len(a) == len(b) and all(torch.equal(x, u) and torch.equal(y, v) for (x, y), (u, v) in zip(a, b))
    head = streamed.head(5)
    assert head.stream is not None and torch.equal(head.images, memory.images[:5])
    picked = streamed.take(torch.tensor([3, 1]))
    assert picked.stream is None and torch.equal(picked.images, memory.images[[3, 1]])


SETTINGS = [
    "model.widths=8,16",
    "model.hidden=32",
    "model.latent_dim=4",
    "train.epochs=2",
    "train.batch_size=8",
    "train.eval_images=8",
    "train.grid_size=4",
    "data.test_fraction=0.2",
]


def weights(run):
    return load_file(str(run / "checkpoint" / "model.safetensors"))


def test_a_streamed_run_resumes_exactly_and_equals_one_in_memory(tmp_path, capsys):
    root = photos(tmp_path / "photos", n=48, bad=False)
    streamed = SETTINGS + ["data.stream=always", "data.workers=2"]
    straight, split, state = straight_and_resumed("vae", f"folder:{root}", None, streamed, tmp_path / "streamed")
    assert capsys.readouterr().err.count("genlab: decoding 48 images") == 1  # three runs, both splits: once
    assert state["loop"]["step"] == 3 and 0 < state["loop"]["batch"] < 4  # stopped mid-epoch
    a, b = weights(straight), weights(split)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    in_memory = tmp_path / "memory"
    genlab.train("vae", data=f"folder:{root}", overrides=SETTINGS + ["data.stream=never"], out=in_memory, **QUIET)
    c = weights(in_memory)
    assert all(torch.equal(a[k], c[k]) for k in a)


def test_auto_streams_where_memory_would_refuse(tmp_path, monkeypatch):
    root = photos(tmp_path / "photos", bad=False)
    assert load(root, stream="auto").stream is None  # fits: read into memory
    monkeypatch.setattr(devices, "free_memory_bytes", lambda: 1000)  # 24 images of 3 x 12 x 12 bytes do not fit
    with pytest.raises(GenlabError, match="needs .* of memory, more than the 1.0 kB free"):
        load(root, stream="never")
    streamed = load(root, stream="auto")
    assert streamed.stream is not None and len(streamed) == 24
    assert torch.equal(streamed.images, load(root, stream="always").images)


def test_bad_settings_and_no_writable_cache_are_one_clear_line(tmp_path, monkeypatch, capsys):
    root = photos(tmp_path / "photos", n=12, bad=False)
    with pytest.raises(GenlabError, match="data.stream must be one of auto, always, never"):
        genlab.train("vae", data=f"folder:{root}", overrides=["data.stream=sometimes"], out=tmp_path / "r", **QUIET)
    with pytest.raises(GenlabError, match="data.stream must be one of auto, always, never, got 'yes'"):
        load(root, stream="yes")
    with pytest.raises(GenlabError, match="data.workers must be 0"):
        load(root, workers=-1)
    (root / ".genlab-cache").write_text("a file where the cache folder would go")
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "not-a-folder" / "cache"))
    with pytest.raises(GenlabError, match="cannot cache the decoded images of .*GENLAB_CACHE") as error:
        load(root, stream="always")
    assert len(str(error.value).splitlines()) == 1
    assert torch.equal(load(root, stream="auto").images, load(root, stream="never").images)  # auto: in memory
    assert "(decoding in memory instead)" in capsys.readouterr().err


def test_the_fallback_location_and_the_cache_folder_holds_no_images(tmp_path, monkeypatch):
    root = photos(tmp_path / "photos", n=12, bad=False)
    (root / ".genlab-cache").write_text("not a folder")
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "user-cache"))
    streamed = load(root, stream="always")
    assert str(streamed.stream.path).startswith(str(tmp_path / "user-cache" / "folders"))
    (root / ".genlab-cache").unlink()
    (root / ".genlab-cache").mkdir()
    Image.new("L", (8, 8)).save(root / ".genlab-cache" / "stray.png")
    assert len(image_files(root)) == 12


def test_too_little_disk_for_the_cache_is_one_line(tmp_path, monkeypatch):
    root = photos(tmp_path / "photos", n=12, bad=False)
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "user-cache"))
    monkeypatch.setattr(devices.shutil, "disk_usage", lambda path: types.SimpleNamespace(free=100))
    with pytest.raises(GenlabError, match="the cache would take 6.9 kB of disk, more than the 100 B free") as error:
        load(root, stream="always")
    assert len(str(error.value).splitlines()) == 1 and "GENLAB_CACHE" in str(error.value)
