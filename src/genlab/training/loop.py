"""The generic training loop: runs the model's phases, logs, checkpoints, resumes; what happens at the end of
an epoch beyond that (pictures, loss curves, scores) comes from callbacks (callbacks.py)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm  # a widget in a notebook, the text bar in a terminal

from ..config import RunConfig
from ..data import ImageData, batches
from ..devices import autocast, configure, resolve_memory_format, resolve_precision
from ..distributed import Replicas, any_replica, gather_objects, gradient_sync, join_replicas, sum_over_replicas
from ..errors import GenlabError, TrainingDiverged, TrainingInterrupted
from ..ops import batch_shard
from ..progress import live
from ..runs import WEIGHTS, checkpoint_dir, has_checkpoint, load_train_state, load_weights, save_checkpoint
from .bookkeeping import (
    Callback,
    LoopState,
    MetricsLog,
    NonfiniteCounter,
    NullLog,
    RunningMeans,
    StopFlag,
    epoch_line,
    restore_rng,
    rng_state,
    step_values,
    weights_finite,
)
from .compiling import compile_networks
from .step import distinct_optimizers, evaluate_loss, grouped, lr_factor, optimization_step

PROGRESS_SECONDS = 30.0  # a progress line at most this often when stderr is not a terminal


class RollBack(Exception):
    """Raised inside an epoch when training diverged and may roll back (caught by ``fit``)."""


class Trainer:
    """Runs ``model.phases`` over the data for ``config.train.epochs`` epochs, with everything around it; one
    data-parallel replica of several when ``replicas`` says so (each takes a share of every global batch)."""

    def __init__(
        self,
        model: Any,
        config: RunConfig,
        train_data: ImageData,
        test_data: ImageData,
        run_dir: Path,
        device: torch.device,
        echo: Callable[[str], None] = print,
        callbacks: Sequence[Callback] = (),
        replicas: Replicas | None = None,
    ):
        replicas = replicas or Replicas()  # training alone
        self.model, self.config, self.run_dir, self.device, self.echo = model, config, run_dir, device, echo
        self.callbacks, self.replicas, self.tc = list(callbacks), replicas, config.train
        configure(device)
        self.precision = resolve_precision(device, self.tc.precision)
        self.train_data, self.test_data = train_data.to(device), test_data.to(device)
        # before the optimizers, so resumed optimizer state lands on the same device and layout
        model.to(device=device, memory_format=resolve_memory_format(device, self.tc.memory_format))
        join_replicas(replicas, model, self.tc.batch_size)
        self.optimizers = model.optimizers(self.tc)
        self.distinct_optimizers = distinct_optimizers(self.optimizers)
        self.data_gen = torch.Generator(device=device).manual_seed(self._seed(1))
        self.state = LoopState()
        self.epoch_means = RunningMeans(device)  # the epoch's logged scalars so far (saved with checkpoints)
        self.window = RunningMeans(device)  # the same since the last step record
        self.batches_per_step = getattr(model, "batches_per_step", 1)  # WGAN critics: a real batch per D step
        self.batches_per_epoch = len(train_data) // self.tc.batch_size
        self.steps_per_epoch = self.batches_per_epoch // self.batches_per_step
        if self.steps_per_epoch == 0:
            raise GenlabError(
                f"train.batch_size={self.tc.batch_size} x {self.batches_per_step} batches per step "
                f"is larger than the {len(train_data)} training images"
            )
        self.total_steps = self.schedule_steps = self.tc.epochs * self.steps_per_epoch
        if self.tc.max_steps is not None:
            self.total_steps = min(self.total_steps, self.tc.max_steps)
        self.interactive = live() and replicas.main
        self.nonfinite: NonfiniteCounter | None = None  # created by fit()
        self.saved_at = time.monotonic()  # when the last checkpoint was written (train.checkpoint_minutes)
        self.said_at = time.monotonic()  # when the last progress line was printed (no terminal)
        if self.tc.compile:
            compile_networks(model, self._trial_step, self.data_gen, echo)

    def _trial_step(self) -> None:
        """Forward and backward passes of one step's phases on the first batches, updating nothing."""
        group = next(self._step_groups(shuffle=False))
        step_batches = [(self.model.prepare(x, self.data_gen), y) for x, y in group]
        for index, phase in enumerate(self.model.step_phases):
            with self.amp():
                out = self.model.loss(step_batches[min(index, len(step_batches) - 1)], phase)
            out["loss"].backward()

    def _step_groups(self, shuffle: bool = True, seed: int = 0, start: int = 0) -> Iterator[list[tuple]]:
        """The real batches of each step (a batch per critic phase), this replica's share of each."""
        stream = batches(
            self.train_data,
            self.tc.batch_size,
            binarize=self.config.data.binarize,
            shuffle=shuffle,
            seed=seed,
            drop_last=True,
            start=start,
            generator=self.data_gen,
            shard=self.replicas.shard if self.replicas.active else None,
            workers=self.config.data.workers,
        )
        return grouped(stream, self.batches_per_step)

    def _seed(self, offset: int, step: int = 0) -> int:
        return self.tc.seed + offset + step

    def shard(self) -> Any:
        """The context of a training step: this replica's share of the global batch's per-sample noise."""
        return batch_shard(self.replicas.rank, self.replicas.world)

    def agree(self, flag: bool) -> bool:
        """``flag`` on any replica is ``flag`` on every replica."""
        return any_replica(flag, self.device) if self.replicas.active else flag

    def amp(self) -> Any:
        return autocast(self.device, self.precision)

    def _apply_schedule(self) -> None:
        """Set every optimizer's learning rate for the current step (a pure function of the step)."""
        factor = self.state.lr_scale * lr_factor(
            self.tc.lr_schedule, self.state.step, self.schedule_steps, self.tc.lr_min_ratio
        )
        for opt in self.distinct_optimizers.values():
            for group in opt.param_groups:
                group.setdefault("initial_lr", group["lr"])
                group["lr"] = group["initial_lr"] * factor

    # -- resume -------------------------------------------------------------------------------
    def resume(self) -> None:
        """Restore optimizers, loop position and every RNG from the run's training state."""
        saved = load_train_state(self.run_dir)
        for phase, opt in self.distinct_optimizers.items():
            configured = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
            opt.load_state_dict(saved["optimizers"][phase])
            for group, settings in zip(opt.param_groups, configured):  # --set train.lr=... wins on resume
                group.pop("initial_lr", None)
                group.update(settings)
        self.model.load_resume_state(saved.get("model", {}))
        self.state = LoopState(**saved["loop"])
        means = saved.get("means", {})  # absent in runs saved before the means were
        for name, running in (("epoch", self.epoch_means), ("window", self.window)):
            if name in means:
                running.load_state(means[name], keep=self.replicas.main)
        self._restore_random_state(saved)

    def _restore_random_state(self, saved: dict[str, Any]) -> None:
        """Each replica's random state as saved (they share one stream, except where a translator's history pool
        drew for shares of different sizes); replica 0's when the number of processes changed; reseeded (a valid
        but not bit-identical continuation) when the device type changed."""
        states = saved.get("rng_replicas") or [saved["rng"]]
        rng = states[self.replicas.rank] if len(states) == self.replicas.world else saved["rng"]
        if rng.get("device_type", self.device.type) != self.device.type:
            self.echo(
                f"warning: resuming a {rng['device_type']} run on {self.device.type}; "
                "the continuation is valid but not bit-identical"
            )
            torch.manual_seed(self._seed(0, self.state.step))
            self.data_gen.manual_seed(self._seed(1, self.state.step))
            return
        restore_rng(rng, self.data_gen)

    def checkpoint(self, may_roll_back: bool = True) -> None:
        """Replica 0 saves weights and training state (with every replica's random state and the running means
        of every replica); weights that are no longer finite are never saved: training diverged."""
        if not weights_finite(self.model):
            raise self._diverged("its weights are no longer finite", may_roll_back)
        self.saved_at = time.monotonic()
        if self.nonfinite is not None:
            self.state.nonfinite_total = int(self.nonfinite.total)
        rng = rng_state(self.data_gen)
        rngs = gather_objects(rng, self.replicas.world) if self.replicas.active else None
        means = {"epoch": self.epoch_means.state(self._reduce()), "window": self.window.state(self._reduce())}
        if not self.replicas.main:
            return
        train_state = {
            "optimizers": {p: o.state_dict() for p, o in self.distinct_optimizers.items()},
            "loop": asdict(self.state),
            "rng": rng,
            "model": self.model.resume_state(),
            "means": means,
            **({"rng_replicas": rngs} if rngs else {}),
        }
        save_checkpoint(self.run_dir, self.model, self.config, train_state)

    # -- the loop -----------------------------------------------------------------------------
    def fit(self) -> LoopState:
        """Train until the configured epochs/steps are done or a stop signal arrives; then the callbacks'
        ``on_fit_end``, however it stopped."""
        try:
            return self._train_epochs()
        finally:
            for callback in self.callbacks:
                callback.on_fit_end(self)

    def _train_epochs(self) -> LoopState:
        """The epochs still to train, with the step log, the progress bar and stop signals."""
        self.model.train()
        self.nonfinite = NonfiniteCounter(self.device, self.state.nonfinite_total)
        main = self.replicas.main
        resumed_at = self.state.step if self.state.step > 0 else None
        log = MetricsLog(self.run_dir / "metrics.jsonl", resume_step=resumed_at) if main else NullLog()
        bar = tqdm(
            total=self.total_steps,
            initial=self.state.step,
            disable=not self.interactive,
            unit="step",
            dynamic_ncols=True,
            desc=self.config.model_name,
        )
        first_step = self.state.step
        try:
            with StopFlag() as stop:
                while self.state.epoch < self.tc.epochs and self.state.step < self.total_steps and not stop.requested:
                    try:
                        self._epoch(log, bar, stop)
                    except RollBack:
                        self._roll_back(log)
        finally:
            bar.close()
            log.close()
        self._check_ending(self.state.step - first_step)
        if stop.requested:
            self.checkpoint(may_roll_back=False)
            raise TrainingInterrupted(
                f"interrupted by {signal.Signals(stop.signum).name} at step {self.state.step}; "
                f"checkpoint saved, continue with: genlab train --resume --out {self.run_dir}",
                stop.signum,
            )
        return self.state

    def _epoch(self, log: MetricsLog, bar: tqdm, stop: StopFlag) -> None:
        tc, state = self.tc, self.state
        epoch_means, window = self.epoch_means, self.window
        steps, started, sync = 0, time.perf_counter(), gradient_sync(self.replicas)
        log_every = max(1, min(50, self.steps_per_epoch // 4))
        for group in self._step_groups(seed=tc.seed * 100_003 + state.epoch, start=state.batch):
            self.model.step = state.step
            self._apply_schedule()
            with self.shard():
                step_batches = [(self.model.prepare(x, self.data_gen), y) for x, y in group]
                scalars, skipped = optimization_step(
                    self.model, self.optimizers, step_batches, self.amp, sync, (tc.grad_clip, tc.grad_skip)
                )
            state.batch, state.step, steps = state.batch + len(group), state.step + 1, steps + 1
            self.nonfinite.add(skipped)
            values = step_values(scalars, skipped)
            epoch_means.add(*values)
            window.add(*values)
            bar.update(1)
            for callback in self.callbacks:
                callback.on_step_end(self)
            logged = state.step % log_every == 0
            if logged:
                self._log_step(log, bar, window)
                stop.requested = self.agree(stop.requested)  # replicas stop at the same step
            if self._checkpoint_due(logged) and state.batch < self.steps_per_epoch * self.batches_per_step:
                self.checkpoint()  # periodic, mid-epoch (the epoch's end writes its own)
            if (stop.requested and (logged or not self.replicas.active)) or state.step >= self.total_steps:
                break
        stop.requested = self.agree(stop.requested)
        self._check_divergence()
        if state.batch >= self.steps_per_epoch * self.batches_per_step:
            self._end_epoch(log, epoch_means, steps, time.perf_counter() - started)
        elif not stop.requested:
            self.checkpoint()  # stopped mid-epoch by max_steps

    def _checkpoint_due(self, logged: bool) -> bool:
        """train.checkpoint_every steps have passed, or (checked when logging, agreed by every replica)
        train.checkpoint_minutes since the last checkpoint."""
        if self.tc.checkpoint_every and self.state.step % self.tc.checkpoint_every == 0:
            return True
        if not (logged and self.tc.checkpoint_minutes):
            return False
        return self.agree(time.monotonic() - self.saved_at >= 60 * self.tc.checkpoint_minutes)

    def _may_roll_back(self) -> bool:
        return (
            self.tc.on_diverge == "rollback"
            and self.state.rollbacks < self.tc.max_rollbacks
            and has_checkpoint(self.run_dir)
        )

    def _roll_back(self, log: MetricsLog) -> None:
        """Back to the last checkpoint (weights, optimizers, position, random state) with the learning rate
        halved; every replica does the same, from the same files."""
        scale, rollbacks, skipped = self.state.lr_scale / 2, self.state.rollbacks + 1, int(self.nonfinite.total)
        load_weights(self.model, checkpoint_dir(self.run_dir) / WEIGHTS, self.model.name)
        self.resume()
        self.state.lr_scale, self.state.rollbacks, self.state.nonfinite_total = scale, rollbacks, skipped
        self.nonfinite = NonfiniteCounter(self.device, skipped)
        log.cut_back(self.state.step)  # the steps after the checkpoint are trained again, and logged again
        log.write({"kind": "rollback", "step": self.state.step, "epoch": self.state.epoch, "lr_scale": scale})
        self.echo(
            f"warning: {self.tc.max_nonfinite} non-finite losses in a row: back to the checkpoint at step "
            f"{self.state.step} with the learning rate x{scale:g} (roll-back {rollbacks} of "
            f"{self.tc.max_rollbacks})"
        )

    def _log_step(self, log: MetricsLog, bar: tqdm, window: RunningMeans) -> None:
        """A step record with the means since the last one (over every replica)."""
        self._check_divergence()
        means = window.pop(self._reduce())
        record = {"kind": "step", "step": self.state.step, "epoch": self.state.epoch, **means}
        log.write(record)
        for callback in self.callbacks:
            callback.on_step_logged(self, record)
        bar.set_postfix({k: f"{v:.4g}" for k, v in list(means.items())[:4]})
        if not self.interactive and time.monotonic() - self.said_at >= PROGRESS_SECONDS:  # logs, CI, nohup
            self.said_at = time.monotonic()
            shown = " ".join(f"{k}={v:.4g}" for k, v in list(means.items())[:4])
            self.echo(
                f"step {self.state.step}/{self.total_steps} (epoch {self.state.epoch + 1}/{self.tc.epochs}) {shown}"
            )

    def _reduce(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        return sum_over_replicas if self.replicas.active else None

    def _check_ending(self, steps: int) -> None:
        """A run whose last steps were all skipped (at least half of this run's, or train.max_nonfinite) did not
        train: it fails instead of ending as if it had."""
        in_a_row = int(self.nonfinite.in_a_row)
        if in_a_row and in_a_row >= min(self.tc.max_nonfinite, max(1, steps // 2)):
            raise TrainingDiverged(
                f"training diverged: its last {in_a_row} of {steps} steps had non-finite losses "
                "and were skipped; try a lower train.lr"
            )

    def _check_divergence(self) -> None:
        """Stop (keeping the last good checkpoint) after too many non-finite losses in a row; read on the host
        only here, when logging (the count is the same on every replica)."""
        in_a_row = int(self.nonfinite.in_a_row)
        if in_a_row >= self.tc.max_nonfinite:
            raise self._diverged(f"{in_a_row} non-finite losses in a row")

    def _diverged(self, why: str, may_roll_back: bool = True) -> Exception:
        """RollBack when training may go back to its last checkpoint; else the TrainingDiverged that ends it,
        saying truthfully what is left on disk."""
        if may_roll_back and self._may_roll_back():
            return RollBack()
        if not has_checkpoint(self.run_dir):
            kept = "there is no checkpoint yet to go back to"
        else:
            kept = "the last good checkpoint is kept" + (
                f" after {self.state.rollbacks} roll-backs" if self.state.rollbacks else ""
            )
        return TrainingDiverged(f"training diverged: {why} at step {self.state.step}; {kept}; try a lower train.lr")

    def _end_epoch(self, log: MetricsLog, train: RunningMeans, steps: int, seconds: float) -> None:
        state, tc = self.state, self.tc
        state.epoch += 1
        state.batch = 0
        record: dict[str, Any] = {
            "kind": "epoch",
            "epoch": state.epoch,
            "step": state.step,
            **{f"train/{k}": v for k, v in train.pop(self._reduce()).items()},
        }
        if tc.eval_images and self.replicas.main:
            test = evaluate_loss(self.model, self.test_data.head(tc.eval_images), 500, tc.seed)
            record.update({f"test/{k}": v for k, v in test.items()})
        record["seconds"] = round(seconds, 3)
        record["images_per_s"] = round(steps * self.batches_per_step * tc.batch_size / max(seconds, 1e-9), 1)
        record["nonfinite_skipped"] = int(self.nonfinite.total)
        for callback in self.callbacks:
            callback.on_epoch_end(self, record)
        warnings = record.pop("warnings", []) + self.model.epoch_warnings(record)
        if warnings:
            record["warnings"] = warnings
        log.write(record)
        self.checkpoint()  # before any callback that reads files back: the epoch's work is saved first
        for callback in self.callbacks:
            callback.on_epoch_logged(self, record)
        for line in warnings:
            self.echo(f"warning: {line}")
        (tqdm.write if self.interactive else self.echo)(epoch_line(record, tc.epochs))  # test loss in a terminal too
