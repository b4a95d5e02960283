"""Uploaded image files: checked before decoding, then decoded exactly as ``folder:`` data is."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError
from torch import Tensor

from ...data.folder import read_image, stack_images
from .limits import MAX_PIXELS, MAX_SIDE, NotAnImage, TooLarge, one_line

BLOCKED_FORMATS = {"EPS": "decoding it runs Ghostscript"}  # Pillow formats that run other programs


def decode_upload(data: bytes, size: int, channels: int) -> Tensor:
    """An uploaded file -> float [1, channels, size, size] in [0, 1], resized and center-cropped like
    ``folder:`` images (first frame, EXIF orientation, transparency on white, 16-bit scaled)."""
    if not data:
        raise NotAnImage("the uploaded file is empty, not an image")
    check_header(data)
    try:
        array, _ = read_image(io.BytesIO(data), size)  # type: ignore[arg-type]  # Pillow opens files and paths
    except Exception as e:
        raise NotAnImage(one_line(f"cannot decode the image ({type(e).__name__}: {e})", 200)) from None
    return stack_images([array], channels)


def check_header(data: bytes) -> None:
    """Refuse, from the header alone, what is not an image, a format that may not be decoded here, or an image
    of more than MAX_PIXELS pixels (Pillow's decompression-bomb check included)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                kind, (width, height) = img.format, img.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(f"the image has more pixels than the {MAX_SIDE}x{MAX_SIDE} limit") from None
    except UnidentifiedImageError:
        raise NotAnImage("not an image Pillow can read (send a PNG, JPEG, GIF, WebP, BMP, TIFF, ...)") from None
    except Exception as e:
        raise NotAnImage(one_line(f"cannot read the image header ({type(e).__name__}: {e})", 200)) from None
    if kind in BLOCKED_FORMATS:
        raise NotAnImage(f"{kind} images are not accepted here ({BLOCKED_FORMATS[kind]})")
    if width * height > MAX_PIXELS:
        raise TooLarge(
            f"the image is {width}x{height} pixels; the limit is {MAX_SIDE}x{MAX_SIDE} ({MAX_PIXELS} pixels)"
        )
