"""The lecture notebooks (notebooks/*.ipynb, one per part of the lecture): committed without outputs and listed in
notebooks/README.md (fast tier), and each runs top to bottom in a fresh kernel on the CPU, one thread, within its
time limit, every assertion in its cells holding (slow tier; needs the ``notebooks`` extra: nbclient, nbformat,
ipykernel, ipywidgets, which ``make setup`` installs through the ``test`` extra)."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PARTS = ["01_sampling", "02_vae", "03_gan", "04_translation", "05_plug_and_play", "06_diffusion"]
BUDGET_S = 180  # what each notebook may take on one CPU thread (notebooks/README.md)
LIMIT_S = 2 * BUDGET_S  # the test's limit: twice the budget, for machines whose cores are shared
STRIP = "clear them before committing (Jupyter: Edit > Clear Outputs of All Cells; see notebooks/README.md)"


def read(name: str) -> dict:
    return json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))


def test_one_notebook_per_part_listed_in_the_readmes():
    assert sorted(path.stem for path in NOTEBOOKS.glob("*.ipynb")) == PARTS
    listing = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    assert [name for name in PARTS if f"{name}.ipynb" not in listing] == []
    assert "notebooks/README.md" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", PARTS)
def test_committed_without_outputs(name):
    """No outputs, execution counts, run timings or widget state in git: only the notebook's source."""
    notebook = read(name)
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code, f"{name}.ipynb has no code cells"
    with_outputs = [i for i, cell in enumerate(code) if cell.get("outputs")]
    counted = [i for i, cell in enumerate(code) if cell.get("execution_count") is not None]
    timed = [i for i, cell in enumerate(notebook["cells"]) if "execution" in cell.get("metadata", {})]
    assert with_outputs == [] and counted == [] and timed == [], (
        f"{name}.ipynb holds outputs (code cells {with_outputs}), execution counts ({counted}) or timings "
        f"({timed}): {STRIP}"
    )
    assert "widgets" not in notebook["metadata"], f"{name}.ipynb holds saved widget state: {STRIP}"
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


def notebook_client():
    """nbformat and nbclient, or a failure that says how to install them (never a skip: CI must run these)."""
    missing = [name for name in ("ipykernel", "ipywidgets") if importlib.util.find_spec(name) is None]
    try:  # the kernel and the widgets run in the kernel's process, not imported here
        import nbformat
        from nbclient import NotebookClient
    except ImportError as e:
        missing.append(e.name)
    if missing:
        pytest.fail(
            f"the notebook tests need the notebooks extra, {', '.join(missing)} missing: "
            "pip install -e '.[notebooks]' (make setup installs it with the test extra)",
            pytrace=False,
        )
    return nbformat, NotebookClient


@pytest.mark.slow
@pytest.mark.parametrize("name", PARTS)
def test_notebook_runs(name, tmp_path, monkeypatch):
    """Every cell runs in a fresh kernel without error (each cell asserts what it shows), within the limit."""
    nbformat, NotebookClient = notebook_client()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the kernel inherits the environment
    monkeypatch.setenv("MPLBACKEND", "Agg")  # figures render without a display
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # genlab.train(out=None) run folders land here
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(
        notebook, timeout=LIMIT_S, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    started = time.monotonic()
    try:
        client.execute()
    except Exception as e:  # CellExecutionError (a failed cell or assertion), CellTimeoutError, a dead kernel
        pytest.fail(f"{name}.ipynb did not run to the end: {type(e).__name__}\n{e}", pytrace=False)
    seconds = time.monotonic() - started
    errors = [out for cell in notebook.cells for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert errors == []
    assert seconds < LIMIT_S, f"{name}.ipynb took {seconds:.0f} s, over its limit of {LIMIT_S} s"
