"""Fuzz every endpoint of genlab serve from its own OpenAPI schema (schemathesis): valid and invalid requests
to each served run and to unknown ones; no answer may be a server error.

GENLAB_FUZZ_REPORT=path.json writes how many requests each endpoint got and with which statuses.
"""
from __future__ import annotations

import json
import os
import warnings
from collections import Counter

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")
from genlab.apps.testing import conditional_gan_run, cyclegan_run, toy_gan_run, vae_run  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from genlab.apps.server import create_app  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
RUN_IDS = ("0", "1", "2", "3")  # vae, cgan, toy, cyclegan
EXAMPLES = int(os.environ.get("GENLAB_FUZZ_EXAMPLES", "0")) or 6  # per operation, run, mode


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    """The studio's schema over the four tiny runs, calling the app in-process."""
    root = tmp_path_factory.mktemp("fuzz")
    app = create_app([make(root) for make in (vae_run, conditional_gan_run, toy_gan_run, cyclegan_run)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's TestClient asks for httpx2
        return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def statuses():
    """Requests per (endpoint, status); written to GENLAB_FUZZ_REPORT when it names a file."""
    counts: Counter = Counter()
    yield counts
    if os.environ.get("GENLAB_FUZZ_REPORT"):
        by_endpoint: dict[str, dict[str, int]] = {}
        for (endpoint, status), count in sorted(counts.items()):
            by_endpoint.setdefault(endpoint, {})[str(status)] = count
        totals = Counter()
        for (_, status), count in counts.items():
            totals[str(status)] += count
        report = {"requests": sum(counts.values()), "statuses": dict(sorted(totals.items())), "endpoints": by_endpoint}
        with open(os.environ["GENLAB_FUZZ_REPORT"], "w") as f:
            json.dump(report, f, indent=2)


def fuzz(operation, statuses: Counter, mode, **fixed) -> None:
    """EXAMPLES generated requests to one operation (``fixed``: path parameters held); no 5xx answer."""
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def one_request(case):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            response = case.call()
        statuses[f"{operation.method.upper()} {operation.path}", response.status_code] += 1
        case.validate_response(response, checks=[not_a_server_error])

    try:
        one_request()
    except Unsatisfiable:  # negative mode, nothing left to break: no parameters, or only the run held fixed
        assert mode == schemathesis.GenerationMode.NEGATIVE


def operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_no_request_gets_a_server_error(schema, statuses, mode):
    """Every operation, for each served run and for whatever run text the schema allows."""
    for operation in operations(schema):
        takes_run = any(p.name == "run" for p in operation.path_parameters)
        for run in RUN_IDS if takes_run else ():
            fuzz(operation, statuses, mode, path_parameters={"run": run})
        fuzz(operation, statuses, mode)
    assert sum(statuses.values()) > 0
