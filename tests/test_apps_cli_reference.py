"""docs/config.md and docs/cli.md are generated from the code (genlab.apps.cli.reference): the committed pages
match what the code generates now, list every key, preset and verb, and do not depend on the terminal."""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path

from genlab.apps.cli.reference import REFRESH, cli_markdown, config_markdown, main, reference_pages, stale_pages
from genlab.apps.cli.verbs import VERBS
from genlab.config import DataConfig, TrainConfig
from genlab.models import get_model_class, model_names

ROOT = Path(__file__).resolve().parents[1]


def test_the_committed_reference_pages_are_fresh():
    stale = []
    for path, text in reference_pages().items():
        old = (ROOT / path).read_text(encoding="utf-8") if (ROOT / path).is_file() else ""
        if old != text:
            diff = difflib.unified_diff(old.splitlines(), text.splitlines(), path, "generated now", lineterm="", n=1)
            stale.append("\n".join(list(diff)[:30]))
    assert not stale, f"stale generated docs; run `{REFRESH}` and commit the result:\n" + "\n\n".join(stale)


def test_config_page_lists_every_key_and_preset_of_every_model():
    page = config_markdown()
    for section, cls in (("data", DataConfig), ("train", TrainConfig)):
        assert all(f"| `{section}.{f.name}` |" in page for f in dataclasses.fields(cls)), section
    for name in model_names():
        model = get_model_class(name)
        assert f"## Model `{name}`" in page and f"(#model-{name})" in page
        block = page.split(f"## Model `{name}`")[1].split("## Model ")[0]
        assert all(f"| `model.{f.name}` |" in block for f in dataclasses.fields(model.Config)), name
        assert all(f"| `{preset}` |" in block for preset in model.presets), name
    assert "| `train.lr` | float | `0.001` | Adam learning rate" in page  # type, default, meaning
    assert "| `data.data_dir` | str \\| None | `null` |" in page  # pipes escaped: they would split the cell


def test_cli_page_holds_the_help_of_every_verb():
    page = cli_markdown()
    assert "## genlab\n" in page and "usage: genlab [-h] [--version] VERB ..." in page
    for verb in VERBS:
        assert f"## genlab {verb}\n" in page and f"usage: genlab {verb} " in page, verb
        assert f"(#genlab-{verb})" in page
    assert "--set KEY=VALUE" in page and "genlab train vae --data mnist --preset quick" in page  # options, epilog


def test_pages_do_not_depend_on_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    narrow = reference_pages()
    monkeypatch.setenv("COLUMNS", "250")
    assert reference_pages() == narrow
    assert max(len(line) for line in narrow["docs/cli.md"].split("```text")[1].splitlines()) <= 100


def test_check_and_write_on_a_folder(tmp_path, capsys):
    assert stale_pages(tmp_path) == ["docs/config.md", "docs/cli.md"]
    assert main(["--check", "--root", str(tmp_path)]) == 1
    assert REFRESH in capsys.readouterr().err
    assert main(["--root", str(tmp_path)]) == 0
    assert main(["--check", "--root", str(tmp_path)]) == 0 and stale_pages(tmp_path) == []
    (tmp_path / "docs" / "cli.md").write_text("edited by hand\n")
    assert stale_pages(tmp_path) == ["docs/cli.md"]
