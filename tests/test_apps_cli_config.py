"""Config files and the CLI's own help: `--dry-run > run.json` feeds back through `--config` (JSON or YAML),
`genlab config MODEL` lists every key with its meaning, and `genlab --help` imports no verb and no PyTorch."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
import yaml

from genlab.apps.cli import main
from genlab.config import TrainConfig
from genlab.models import get_model_class, model_names

TINY = ["--preset", "tiny", "--set", "data.limit=256", "--set", "train.epochs=1"]


def dry_run(argv, capsys) -> dict:
    assert main([*argv, "--dry-run"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_dry_run_feeds_back_through_config(suffix, tmp_path, capsys):
    printed = dry_run(["train", "vae", *TINY, "--out", tmp_path / "a"], capsys)
    path = tmp_path / f"run{suffix}"
    path.write_text(json.dumps(printed) if suffix == ".json" else yaml.safe_dump(printed))
    assert dry_run(["train", "--config", str(path), "--out", tmp_path / "b"], capsys) == printed


def test_data_preset_set_and_device_apply_on_top_of_a_config_file(tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(dry_run(["train", "gan", "--preset", "tiny", "--out", tmp_path / "a"], capsys)))
    argv = ["train", "--config", path, "--preset", "dcgan", "--set", "train.epochs=3", "--device", "cpu"]
    resolved = dry_run([*argv, "--out", tmp_path / "b"], capsys)
    assert resolved["train"]["epochs"] == 3 and resolved["train"]["device"] == "cpu"  # --set, --device
    assert resolved["train"]["batch_size"] == 64 and resolved["train"]["lr"] == 2e-4  # the preset, over the file
    assert resolved["model"]["g_width"] == 8  # the file's (tiny), which dcgan leaves alone


@pytest.mark.parametrize(
    "text, extra, message",
    [
        ("{garbage", [], "cannot read config file"),
        ('{"model_name": "vae", "train": {"epochs": "ten"}}', [], "epochs expects int"),
        ('{"model_name": "vae", "model": {"nope": 1}}', [], "unknown config key 'model.nope'"),
        ('{"model_name": "vae"}', ["gan"], "configures a 'vae' run, not 'gan'"),
        ('{"model_name": "vae"}', ["--resume"], "--config starts a new run"),
        ('["vae"]', [], "is not a genlab run config"),
    ],
)
def test_bad_config_files_are_one_line(text, extra, message, tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(text)
    positional = [a for a in extra if not a.startswith("-")]
    options = [a for a in extra if a.startswith("-")]
    code = main(["train", *positional, "--config", str(path), *options, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("model", model_names())
def test_genlab_config_lists_every_key_of_every_model(model, capsys):
    assert main(["config", model, "--json"]) == 0
    rows = {row["key"]: row for row in json.loads(capsys.readouterr().out)}
    fields = dataclasses.fields(get_model_class(model).Config)
    assert {f"model.{f.name}" for f in fields} | {f"train.{f.name}" for f in dataclasses.fields(TrainConfig)} <= set(
        rows
    )
    missing = [key for key, row in rows.items() if not row["meaning"]]
    assert not missing, f"keys without a meaning (a comment beside the field): {missing}"


def test_genlab_config_shows_a_presets_values(capsys):
    assert main(["config", "vae", "--preset", "tiny", "--json"]) == 0
    rows = {row["key"]: row["default"] for row in json.loads(capsys.readouterr().out)}
    assert rows["model.latent_dim"] == 4
    assert main(["config", "vae", "--preset", "nope"]) == 2


def test_top_level_help_lists_every_verb_without_importing_torch():
    code = (
        "import sys, contextlib, io\n"
        "from genlab.apps.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(out.getvalue()); print('TORCH' if 'torch' in sys.modules else 'LIGHT')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().endswith("LIGHT"), done.stdout + done.stderr
    for verb in ("train", "sample", "eval", "compare", "translate", "adapt", "export", "serve", "verify", "config"):
        assert f"    {verb} " in done.stdout or f"    {verb}\n" in done.stdout, verb
