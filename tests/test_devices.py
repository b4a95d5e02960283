"""Sizes are checked against free memory before anything is allocated; a failed allocation is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from genlab import devices
from genlab.apps.cli import main
from genlab.errors import GenlabError
from genlab.models import build_model
from genlab.models.registry import get_model_class, model_names, planned_bytes
from genlab.testing import tiny_model


def test_free_memory_is_known_here_and_within_the_machine():
    free = devices.free_memory_bytes()
    total = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    assert free is not None and 0 < free <= total


def test_bytes_read_as_people_write_them():
    assert [devices.format_bytes(n) for n in (999, 1000, 1234567, 3e15, 5e18)] == [
        "999 B",
        "1.0 kB",
        "1.2 MB",
        "3.0 PB",
        "5000.0 PB",
    ]


def test_a_huge_image_size_is_one_line_before_anything_is_written(tmp_path, capsys):
    code = main(["train", "vae", "--set", "model.image_size=100000", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "100000x100000 needs" in err and "PB of memory" in err
    assert not (tmp_path / "run").exists()


def test_a_model_larger_than_free_memory_is_refused_before_it_is_built(monkeypatch):
    model, config = tiny_model("vae")
    needed = planned_bytes(get_model_class("vae"), config.model)
    assert needed == sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    monkeypatch.setattr(devices, "free_memory_bytes", lambda: needed - 1)
    with pytest.raises(GenlabError, match="a vae model of this config needs .* of memory"):
        build_model("vae", config.model)
    monkeypatch.setattr(devices, "free_memory_bytes", lambda: needed)
    assert sum(p.numel() for p in build_model("vae", config.model).parameters()) == sum(
        p.numel() for p in model.parameters()
    )


def test_a_folder_too_large_for_memory_is_refused_before_it_is_read(tmp_path, monkeypatch, capsys):
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (8, 8), (i, 0, 0)).save(tmp_path / f"{i}.png")
    monkeypatch.setattr(devices, "free_memory_bytes", lambda: 1000)
    code = main(["train", "gan", "--data", f"folder:{tmp_path}", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "3 images of" in err and "needs" in err and not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "error",
    [
        MemoryError(),
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 11796480000 bytes"),
        RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB"),
    ],
)
def test_a_failed_allocation_is_one_line(monkeypatch, capsys, error):
    import genlab.apps.cli.sample as sample_verb

    def allocate(args):
        raise error

    monkeypatch.setattr(sample_verb, "run", allocate)
    monkeypatch.setattr(sample_verb, "export", allocate)
    code = main(["sample", "anything"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("genlab: error: out of memory") and err.count("\n") == 1


def test_other_runtime_errors_are_not_hidden(monkeypatch):
    import genlab.apps.cli.sample as sample_verb

    def broken(args):
        raise RuntimeError("a genlab bug")

    monkeypatch.setattr(sample_verb, "run", broken)
    with pytest.raises(RuntimeError, match="a genlab bug"):
        main(["sample", "anything"])


@pytest.mark.parametrize("name", model_names())
def test_every_model_is_planned_on_the_meta_device_to_its_exact_size(name):
    model, config = tiny_model(name)
    actual = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    assert planned_bytes(get_model_class(name), config.model) == actual > 0
