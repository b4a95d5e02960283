"""What one studio request may ask for, and the errors that answer with a status other than 400."""

from __future__ import annotations

import re

from ...errors import GenlabError

MAX_SAMPLES = 256  # images in one samples.png grid
MAX_SEED = 2**31 - 1
MIN_STEPS, MAX_STEPS, DEFAULT_STEPS = 2, 30, 15  # manifold grid: steps x steps images
Z_LIMIT = 10.0  # every value of a latent code sent to decode.png lies in [-Z_LIMIT, Z_LIMIT]
MAX_Z_CHARS = 32768  # the text of z (about 1,300 numbers as repr writes float32 values)
NUMBER = r"\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*"  # ASCII digits: no "٣", no "5_0"
Z_PATTERN = rf"^{NUMBER}(,{NUMBER})*$"  # comma-separated decimal numbers; their count and range are checked later
MAX_SAMPLING_STEPS = 100  # a diffusion run's noise levels for one request (Heun: 2 * steps - 1 evaluations)
MAX_GUIDANCE = 8.0  # the classifier-free guidance weight w of a class-conditional diffusion run
MAX_TEMPERATURE = 2.0  # the factor on a hierarchical VAE's prior stds when sampling
MAX_ROWS, DEFAULT_ROWS = 8, 4  # samples (rows) of one denoising trajectory
MIN_FRAMES, MAX_FRAMES, DEFAULT_FRAMES = 2, 16, 8  # its frames (columns), pure noise to the samples
MAX_RUN_CHARS = 200  # a run's id or name in a path
MAX_CURVE_CHARS = 200  # the name of a training curve (a field of metrics.jsonl, e.g. g/loss)
MAX_UPLOAD_BYTES = 5_000_000  # the uploaded file itself (5 MB)
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 64 * 1024  # any request body: the upload plus its multipart envelope
MAX_SIDE = 4096
MAX_PIXELS = MAX_SIDE * MAX_SIDE  # decoded pixels of an upload
MAX_QUEUED = 8  # inference requests running or waiting; more are answered 429
UPLOAD_CHUNK = 64 * 1024


class StudioError(GenlabError):
    """A bad request: the studio answers ``{"detail": message}`` with ``status``."""

    status = 400


class Unprocessable(StudioError):
    """A sampling option the run cannot take (guidance on an unconditional run, a sampler on a GAN)."""

    status = 422


class NotFound(StudioError):
    """No run of this studio has that id or name, or no shipped file that name."""

    status = 404


class TooLarge(StudioError):
    """An upload over the byte or pixel limits."""

    status = 413


class NotAnImage(StudioError):
    """An upload Pillow cannot decode (or may not: formats that run other programs)."""

    status = 415


class Busy(StudioError):
    """More inference requests than ``MAX_QUEUED`` are running or waiting."""

    status = 429


def ascii_whole(value: object) -> object:
    """A query's whole number as digits 0-9 (with a sign): int() would also take "5_0" and other scripts' digits."""
    if isinstance(value, str) and not re.fullmatch(r"[-+]?[0-9]+", value):
        raise ValueError("must be a whole number written with the digits 0-9")
    return value


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line (runs of whitespace collapsed), at most ``limit`` characters."""
    line = " ".join(str(text).split()) or "error"
    return line if len(line) <= limit else line[: limit - 3] + "..."
