"""The training step keeps the device busy: no host synchronisation per step, non-finite losses skipped on
the device (fused Adam), precision and memory layout chosen per device."""

from __future__ import annotations

import contextlib
import copy
import json

import pytest
import torch

import genlab
from genlab.devices import resolve_memory_format, resolve_precision
from genlab.errors import GenlabError
from genlab.models.gan import GAN
from genlab.optim import adam, skips_on_device, step_unless
from genlab.testing import TINY, TINY_TRAIN, synthetic_images, tiny_model
from genlab.training.loop import optimization_step

QUIET = {"echo": lambda s: None}


def gan_batch(model, n=8):
    x = model.prepare(synthetic_images(n).images.float() / 255)
    return [(x, torch.zeros(n, dtype=torch.long))]


@pytest.fixture
def no_host_reads(monkeypatch):
    """Any read of a tensor's value on the host (bool(t), float(t), int(t), t.item()) fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a tensor was read on the host inside the training step")

    for name in ("__bool__", "__float__", "__int__", "item", "tolist"):
        monkeypatch.setattr(torch.Tensor, name, refuse)


def test_a_step_reads_nothing_on_the_host(no_host_reads):
    model, config = tiny_model("gan")
    optimizers = model.optimizers(config.train)
    logged, skipped = optimization_step(model, optimizers, gan_batch(model), contextlib.nullcontext)
    assert set(logged) >= {"d/loss", "g/loss"} and skipped.dtype == torch.bool


def test_a_non_finite_loss_changes_no_weight_moment_step_or_ema():
    model, config = tiny_model("gan")
    optimizers = model.optimizers(config.train)
    optimization_step(model, optimizers, gan_batch(model), contextlib.nullcontext)  # Adam has state now
    before = copy.deepcopy(model.state_dict())
    moments = {
        phase: {p: {k: v.clone() for k, v in state.items()} for p, state in opt.state.items()}
        for phase, opt in optimizers.items()
    }
    real_loss = model.loss

    def nan_critic(batch, phase):
        out = real_loss(batch, phase)
        return {**out, "loss": out["loss"] * float("nan")} if phase == "d" else out

    model.loss = nan_critic
    logged, skipped = optimization_step(model, optimizers, gan_batch(model), contextlib.nullcontext)
    assert bool(skipped)  # the d loss was NaN, so the g phase after it is skipped too
    after = model.state_dict()
    changed = [
        k for k in before if not torch.equal(before[k], after[k]) and "running" not in k and "num_batches" not in k
    ]
    assert changed == [], changed  # batch-norm statistics move in any forward pass; weights and EMA do not
    for phase, opt in optimizers.items():
        for p, state in opt.state.items():
            assert all(torch.equal(state[k], moments[phase][p][k]) for k in state), phase


def test_the_loop_skips_a_bad_step_counts_it_and_logs_no_nan(tmp_path, monkeypatch):
    real_loss = GAN.loss
    calls = {"n": 0}

    def sometimes_nan(self, batch, phase):
        out = real_loss(self, batch, phase)
        if self.training and torch.is_grad_enabled() and phase == "d":
            calls["n"] += 1
            if calls["n"] == 2:
                out["loss"] = out["loss"] * float("nan")
        return out

    monkeypatch.setattr(GAN, "loss", sometimes_nan)
    genlab.train("gan", preset="tiny", overrides=TINY_TRAIN + ["model.image_size=28"], out=tmp_path / "run", **QUIET)
    text = (tmp_path / "run" / "metrics.jsonl").read_text()
    epoch = [json.loads(line) for line in text.splitlines() if '"epoch"' in line and '"kind": "epoch"' in line][-1]
    assert epoch["nonfinite_skipped"] == 1 and "NaN" not in text
    state = torch.load(tmp_path / "run" / "checkpoint" / "train_state.pt", weights_only=True)
    assert state["loop"]["nonfinite_total"] == 1 and state["loop"]["step"] == 4  # skipped steps still count


def test_fused_adam_is_used_and_other_optimizers_fall_back_to_a_host_check():
    p = torch.nn.Parameter(torch.zeros(3))
    assert skips_on_device(adam([p], 1e-3, (0.9, 0.999)))
    sgd = torch.optim.SGD([p], lr=1.0)
    p.grad = torch.ones(3)
    step_unless(sgd, torch.tensor(True))
    assert torch.equal(p.detach(), torch.zeros(3))
    step_unless(sgd, torch.tensor(False))
    assert torch.equal(p.detach(), -torch.ones(3))


def test_precision_and_memory_format_follow_the_device():
    cpu = torch.device("cpu")
    assert resolve_precision(cpu, "auto") == "fp32" and resolve_precision(cpu, "bf16") == "bf16"
    assert resolve_memory_format(cpu, "auto") == torch.contiguous_format
    assert resolve_memory_format(cpu, "channels_last") == torch.channels_last
    with pytest.raises(GenlabError, match="train.precision must be one of auto, fp32, bf16"):
        resolve_precision(cpu, "fp16")
    with pytest.raises(GenlabError, match="train.memory_format"):
        genlab.train("vae", overrides=TINY + ["train.memory_format=nhwc"], dry_run=True, **QUIET)


def test_channels_last_training_resumes_exactly_and_saves_plain_weights(tmp_path):
    settings = TINY + ["train.epochs=2", "train.memory_format=channels_last"]
    genlab.train("vae", overrides=settings, out=tmp_path / "straight", **QUIET)
    genlab.train("vae", overrides=settings + ["train.max_steps=3"], out=tmp_path / "split", **QUIET)
    genlab.train(out=tmp_path / "split", resume=True, overrides=["train.max_steps=none"], **QUIET)
    a, b = genlab.load(tmp_path / "straight").state_dict(), genlab.load(tmp_path / "split").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(t.is_contiguous() for t in a.values())


def test_running_means_skip_masked_steps_and_follow_changing_names():
    from genlab.training.bookkeeping import RunningMeans, step_values

    means = RunningMeans(torch.device("cpu"))
    yes, no = torch.tensor(True), torch.tensor(False)
    means.add(*step_values({"a": torch.tensor(1.0), "b": torch.tensor(2.0)}, no))
    means.add(*step_values({"a": torch.tensor(float("nan")), "b": torch.tensor(5.0)}, yes))  # skipped
    means.add(*step_values({"b": torch.tensor(4.0), "c": torch.tensor(6.0)}, no))
    assert means.pop() == {"a": 0.5, "b": 3.0, "c": 3.0}
    assert means.pop() == {}  # started over; nothing counted


def test_compile_leaves_out_a_penalized_discriminator_frozen_parts_and_ema():
    wgan, _ = tiny_model("gan")
    assert wgan.compile_targets() == ["generator", "discriminator"]
    model, config = tiny_model("gan")
    model.config.gp_weight = 10.0
    assert model.compile_targets() == ["generator"]  # its double backward stays eager
    latent, _ = tiny_model("latent-gan")
    assert "autoencoder" not in latent.compile_targets() and "generator_ema" not in latent.compile_targets()


def test_a_failing_compile_falls_back_to_eager_with_a_warning_and_changes_nothing(tmp_path, monkeypatch):
    settings = TINY + ["train.max_steps=3"]
    genlab.train("vae", overrides=settings, out=tmp_path / "eager", **QUIET)

    def broken_compile(module, *args, **kwargs):
        def fail(*a, **k):
            raise RuntimeError("compiler exploded\nsecond line")

        module._compiled_call_impl = fail

    monkeypatch.setattr(torch.nn.Module, "compile", broken_compile)
    said = []
    genlab.train("vae", overrides=settings + ["train.compile=true"], out=tmp_path / "fallback", echo=said.append)
    assert any("torch.compile failed (RuntimeError: compiler exploded); training eagerly" in s for s in said)
    eager, fallback = genlab.load(tmp_path / "eager").state_dict(), genlab.load(tmp_path / "fallback").state_dict()
    assert eager.keys() == fallback.keys() and all(torch.equal(eager[k], fallback[k]) for k in eager)


def test_compiled_networks_keep_their_checkpoint_names(tmp_path):
    from genlab.runs import module_state

    model, config = tiny_model("gan")
    before = set(module_state(model))
    for name in model.compile_targets():
        getattr(model, name).compile()  # in place, as train.compile=true does (compilation itself is lazy)
    assert set(module_state(model)) == before and not any("_orig_mod" in k for k in before)
