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
from hypothesis import given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from genlab.apps.server import create_app  # noqa: E402
from genlab.apps.testing import conditional_gan_run, cyclegan_run, toy_gan_run, vae_run  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]  # hundreds of requests
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


def name_of(operation) -> str:
    return f"{operation.method.upper()} {operation.path}"


def fuzz(operation, statuses: Counter, mode, **fixed) -> int:
    """EXAMPLES generated requests to one operation (``fixed``: path parameters held); no 5xx answer. How many
    requests were made."""
    made = Counter()

    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True)
    def one_request(case):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            response = case.call()
        statuses[name_of(operation), response.status_code] += 1
        made[response.status_code] += 1
        case.validate_response(response, checks=[not_a_server_error])

    try:
        one_request()
    except Unsatisfiable:  # negative mode, nothing left to break: no parameters, or only the run held fixed
        assert mode == schemathesis.GenerationMode.NEGATIVE
    return sum(made.values())


def operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


def breakable(operation) -> bool:
    """Whether the operation takes anything a negative request can get wrong (parameters or a body)."""
    parts = (operation.path_parameters, operation.query, operation.headers, operation.cookies, operation.body)
    return any(len(list(part)) for part in parts)


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_no_request_gets_a_server_error(schema, statuses, mode):
    """Every operation, for each served run and for whatever run text the schema allows; each is called at least
    once (in negative mode, each that takes anything a request can get wrong)."""
    calls = Counter()
    for operation in operations(schema):
        takes_run = any(p.name == "run" for p in operation.path_parameters)
        for run in RUN_IDS if takes_run else ():
            calls[name_of(operation)] += fuzz(operation, statuses, mode, path_parameters={"run": run})
        calls[name_of(operation)] += fuzz(operation, statuses, mode)
    expected = [
        name_of(op) for op in operations(schema) if mode == schemathesis.GenerationMode.POSITIVE or breakable(op)
    ]
    assert "GET /api/runs/{run}/samples.png" in expected  # the studio's schema, read in full
    assert not [name for name in expected if not calls[name]], calls
