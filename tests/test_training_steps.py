"""Skipped steps change nothing, divergence ends in a roll-back or exit 3 with a true message, and the log of a
resumed run equals an uninterrupted run's record for record (training/step.py, loop.py, bookkeeping.py)."""

from __future__ import annotations

import contextlib
import json

import pytest
import torch

import genlab
import genlab.models
from genlab.data import ImageData
from genlab.errors import TrainingDiverged
from genlab.runs import resolve_model_config
from genlab.training.bookkeeping import MetricsLog, records_up_to
from genlab.training.step import optimization_step

QUIET = {"echo": lambda s: None}
SMALL = ["train.batch_size=16", "data.limit=256", "train.eval_images=32", "train.grid_size=4"]


def records(run):
    """The log without the wall-clock fields, which differ between any two runs."""
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in ("seconds", "images_per_s")} for line in lines]


def tiny_gan(**overrides):
    """A tiny GAN with batch-norm in both networks, ready to step on random images."""
    config = genlab.models.default_config("gan", "tiny")
    for key, value in overrides.items():
        setattr(config.model, key, value)
    images = torch.randint(0, 256, (32, 1, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    resolve_model_config(config, ImageData(images, torch.zeros(32, dtype=torch.long), ["0"], "synthetic"))
    model = genlab.models.build_model("gan", config.model)
    return model, model.optimizers(config.train)


def state_of(model, optimizers):
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    for phase, opt in optimizers.items():
        for i, state in enumerate(opt.state.values()):
            tensors.update({f"{phase}.{i}.{k}": v for k, v in state.items() if torch.is_tensor(v)})
    return {k: v.detach().clone() for k, v in tensors.items()}


def test_a_step_skipped_in_a_later_phase_leaves_weights_buffers_and_moments_unchanged():
    """Phase d steps with a finite loss, phase g's loss is NaN: the step is skipped and nothing moved."""
    torch.manual_seed(0)
    model, optimizers = tiny_gan()
    batch = [(torch.rand(8, 1, 16, 16) * 2 - 1, torch.zeros(8, dtype=torch.long))]
    optimization_step(model, optimizers, batch, contextlib.nullcontext)
    before = state_of(model, optimizers)  # moments exist now, after one applied step
    loss = model.loss

    def nan_in_g(batch, phase):
        out = loss(batch, phase)
        return {**out, "loss": out["loss"] * float("nan")} if phase == "g" else out

    model.loss = nan_in_g
    _, skipped = optimization_step(model, optimizers, batch, contextlib.nullcontext)
    after = state_of(model, optimizers)
    assert bool(skipped)
    assert before.keys() == after.keys()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert not changed, f"a skipped step changed {changed[:5]}"
    assert any("running_mean" in k for k in before), "the test needs batch-norm statistics to check"


def test_an_applied_step_does_change_the_weights_and_statistics():
    """The other branch of the test above: the same step with finite losses moves weights and statistics."""
    torch.manual_seed(0)
    model, optimizers = tiny_gan()
    batch = [(torch.rand(8, 1, 16, 16) * 2 - 1, torch.zeros(8, dtype=torch.long))]
    before = state_of(model, optimizers)
    _, skipped = optimization_step(model, optimizers, batch, contextlib.nullcontext)
    after = state_of(model, optimizers)
    assert not bool(skipped)
    assert any("running_mean" in k and not torch.equal(before[k], after[k]) for k in before)
    assert any(k.endswith("weight") and not torch.equal(before[k], after[k]) for k in before)


def test_a_diverging_gan_without_a_checkpoint_exits_with_a_true_message(tmp_path):
    with pytest.raises(TrainingDiverged) as stopped:
        genlab.train(
            "gan", preset="tiny", overrides=SMALL + ["train.epochs=2", "train.lr=1e30"], out=tmp_path / "run", **QUIET
        )
    assert "diverged" in str(stopped.value) and "the last good checkpoint is kept" not in str(stopped.value)
    assert stopped.value.exit_code == 3


def test_a_diverging_gan_rolls_back_to_its_checkpoint_then_stops(tmp_path):
    run = tmp_path / "run"
    genlab.train("gan", preset="tiny", overrides=SMALL + ["train.epochs=1"], out=run, **QUIET)
    more = ["train.epochs=6", "train.lr=1e30", "train.max_nonfinite=4", "train.max_rollbacks=2"]
    with pytest.raises(TrainingDiverged, match="last good checkpoint is kept after 2 roll-backs"):
        genlab.train(out=run, resume=True, overrides=more, **QUIET)
    kinds = [r["kind"] for r in records(run)]
    assert kinds.count("rollback") == 2
    steps = [r["step"] for r in records(run) if r["kind"] == "step"]
    assert steps == sorted(steps), "rolled-back steps were logged twice"


def test_a_resumed_run_logs_what_an_uninterrupted_run_logs(tmp_path):
    """Stopped mid-epoch by max_steps and resumed: every record equal, the epoch means included."""
    settings = SMALL + ["train.epochs=2", "train.checkpoint_every=3"]
    genlab.train("vae", preset="tiny", overrides=settings, out=tmp_path / "straight", **QUIET)
    genlab.train("vae", preset="tiny", overrides=settings + ["train.max_steps=10"], out=tmp_path / "split", **QUIET)
    genlab.train(out=tmp_path / "split", resume=True, overrides=["train.max_steps=none"], **QUIET)
    straight, split = records(tmp_path / "straight"), records(tmp_path / "split")
    assert [r["kind"] for r in straight].count("epoch") == 2
    assert split == straight


def test_records_after_the_checkpoint_and_a_torn_line_are_cut_on_resume(tmp_path):
    settings = SMALL + ["train.epochs=2"]
    genlab.train("vae", preset="tiny", overrides=settings, out=tmp_path / "straight", **QUIET)
    split = tmp_path / "split"
    genlab.train("vae", preset="tiny", overrides=settings + ["train.max_steps=16"], out=split, **QUIET)
    log = split / "metrics.jsonl"
    kept = log.read_text()
    later = {"kind": "step", "step": 99, "epoch": 1, "loss": 1.0}  # written by a run killed after its checkpoint
    log.write_text(kept + json.dumps(later) + "\n" + "[" * 5000 + "\n" + '{"kind": "st')
    genlab.train(out=split, resume=True, overrides=["train.max_steps=none"], **QUIET)
    assert records(split) == records(tmp_path / "straight")


def test_the_log_is_cut_back_to_a_step(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text("\n".join([json.dumps({"kind": "step", "step": s}) for s in (1, 2, 3)] + ["{torn", "[1]"]))
    assert [r["step"] for r in records_up_to(path, 2)] == [1, 2]
    log = MetricsLog(path, resume_step=1)
    log.write({"kind": "step", "step": 2, "loss": float("nan")})
    log.close()
    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        {"kind": "step", "step": 1},
        {"kind": "step", "step": 2, "loss": None},
    ]
