"""The docs site (mkdocs.yml, `make docs`) builds with --strict -- no broken link or anchor, no missing page, every
docstring of the API page rendered -- and its pages load nothing from the network."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
REMOTE = re.compile(r"<(?:script|link|img|iframe|source|video|audio)\b[^>]*\b(?:src|href)=\"(?:https?:)?//[^\"]*\"")


def nav_pages(nav: list) -> list[str]:
    """The Markdown files a mkdocs nav names, in order."""
    pages = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


@pytest.mark.slow
def test_the_docs_site_builds_strict_and_offline(tmp_path):
    missing = [tool for tool in TOOLS if importlib.util.find_spec(tool.split(".")[0]) is None]
    if missing:
        pytest.fail(f"the docs extra is not installed ({', '.join(missing)}): pip install -e '.[docs]'", pytrace=False)
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    for page in nav_pages(config["nav"]):
        assert (site / page).with_suffix(".html").is_file(), page
    api = (site / "api.html").read_text(encoding="utf-8")
    assert "A trained model, ready for sample/encode/decode" in api  # genlab.load's docstring
    assert "class-conditional" in (site / "config.html").read_text(encoding="utf-8")
    remote = [f"{p.name}: {m}" for p in site.rglob("*.html") for m in REMOTE.findall(p.read_text(encoding="utf-8"))]
    assert not remote, "pages load from the network:\n" + "\n".join(remote[:20])
    styles = [p.name for p in site.rglob("*.css") if re.search(r"url\([\"']?(https?:)?//", p.read_text("utf-8"))]
    assert not styles, f"stylesheets fetch from the network: {styles}"
