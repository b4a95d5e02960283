"""The studio's FastAPI app: routes, one-line JSON errors for every failure, and the request body limit."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...errors import GenlabError
from ...version import __version__
from .limits import MAX_BODY_BYTES, one_line
from .routes import router
from .studio import Studio


def build_app(studio: Studio) -> FastAPI:
    """The app over a loaded studio (its worker thread stops when the app shuts down)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        studio.queue.close()

    app = FastAPI(
        title="genlab studio",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="A local page over trained genlab runs (docs/studio.md).",
    )
    app.state.studio = studio
    app.include_router(router)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_exception_handler(GenlabError, genlab_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
    return app


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """``{"detail": "one line"}`` with ``status``."""
    return JSONResponse({"detail": one_line(detail)}, status_code=status, headers=headers)


async def genlab_error(request: Request, exc: Exception) -> JSONResponse:
    """A user error from genlab or the studio: its status (400 unless it says otherwise) and its line."""
    return problem(getattr(exc, "status", 400), str(exc))


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A parameter FastAPI refused (422): the first problem, as 'seed must be at least 0, got -5'."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    if not errors:
        return problem(422, "invalid request")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return problem(422, refused(errors[0]) + more)


BOUNDS = {  # pydantic's error type -> the bound in its context and how a line says it
    "greater_than_equal": ("ge", "at least"),
    "less_than_equal": ("le", "at most"),
    "greater_than": ("gt", "more than"),
    "less_than": ("lt", "less than"),
}


def refused(error: dict[str, Any]) -> str:
    """One refused parameter as a line a person reads: the query parameter by its name, the bound it passed and
    the value sent ('n must be at most 256, got 9999'); pydantic's words, not its pattern, for the rest."""
    loc = [str(part) for part in error.get("loc", ())]
    where = loc[-1] if len(loc) == 2 and loc[0] == "query" else " ".join(loc)
    kind, context, sent = error.get("type"), error.get("ctx") or {}, str(error.get("input"))[:40]
    if kind in BOUNDS and BOUNDS[kind][0] in context:
        bound, words = BOUNDS[kind]
        return f"{where} must be {words} {context[bound]}, got {sent}"
    if kind == "literal_error" and "expected" in context:  # one of a few names: say them
        return f"{where} must be one of {context['expected']}, got {sent!r}"
    if kind == "value_error":  # a validator of ours: its message says what the value must be
        return f"{where} {str(error.get('msg', '')).removeprefix('Value error, ')}, got {sent!r}"
    if kind == "string_pattern_mismatch":  # pydantic would echo the pattern itself
        return f"{where}: is not in the expected format (see /openapi.json for what it takes)"
    return f"{where}: {error.get('msg', 'invalid')}"


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own answers (unknown path, wrong method, body too large) as one line."""
    status = getattr(exc, "status_code", 400)
    return problem(status, str(getattr(exc, "detail", "") or status), getattr(exc, "headers", None))


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: one line without the traceback to the client (Starlette raises it on, so the server logs it)."""
    return problem(500, f"internal error ({type(exc).__name__}); the server's log has the details")


class BodyTooLarge(HTTPException):
    """Raised while the body streams in, as soon as it passes the limit."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is over the {limit // 1_000_000} MB upload limit")


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with a 413: at once when Content-Length says so, else as soon
    as the bytes read pass it (the rest is never read)."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if declared_length(scope) > self.limit:
            error = BodyTooLarge(self.limit)
            return await problem(error.status_code, error.detail)(scope, receive, send)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, limited, send)


def declared_length(scope: Scope) -> int:
    """The request's Content-Length (0 when absent or unreadable)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            with contextlib.suppress(ValueError):
                return int(value)
    return 0
