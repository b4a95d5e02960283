"""Feature extraction for sample-quality metrics, and reference features cached by content hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from ..data import ImageData, to_float
from ..files import atomic_path, cache_dir


def extractor_identity(extractor: Any) -> dict[str, str]:
    """Name and weights hash of an extractor; scores from different identities never mix."""
    name = getattr(extractor, "name", None) or type(extractor).__name__
    return {"extractor": str(name), "extractor_sha256": str(getattr(extractor, "weights_sha256", "unknown"))}


def extract(extractor: Any, images: Tensor, batch_size: int = 500, logits: bool = False) -> dict[str, Tensor]:
    """Features [N, F] (and class logits [N, K] when asked) of images in [0, 1] or uint8, on the CPU, computed
    ``batch_size`` images at a time."""
    return extract_batches(extractor, (images[s : s + batch_size] for s in range(0, len(images), batch_size)), logits)


@torch.no_grad()
def extract_batches(extractor: Any, batches: Iterable[Tensor], logits: bool = False) -> dict[str, Tensor]:
    """``extract`` over batches as they come (one forward pass each), keeping only features and logits, so
    the images themselves (generated on the fly, say) never need to be held all at once.

    Logits come from ``extractor.classify(features)`` when it has that head (no second forward pass),
    else from ``extractor.logits(images)``."""
    device = next(extractor.parameters(), torch.empty(0)).device  # parameter-free extractors run on the CPU
    feats, outs = [], []
    for images in batches:
        x = to_float(images).to(device)
        f = extractor(x)
        feats.append(f.float().cpu())
        if logits:
            head = getattr(extractor, "classify", None)
            outs.append((head(f) if head is not None else extractor.logits(x)).float().cpu())
    result = {"features": torch.cat(feats)}
    if logits:
        result["logits"] = torch.cat(outs)
    return result


@torch.inference_mode()
def read_channels(extractor: Any, images: Tensor) -> Tensor:
    """Class probabilities [B, C, K] of every channel of images [B, C, H, W], each read as a gray image by a
    classifier extractor, all channels in one pass (Stacked MNIST: a digit per channel)."""
    channels = images.reshape(-1, 1, *images.shape[-2:])  # [B * C, 1, H, W]: the channels of each image in turn
    logits = extract_batches(extractor, [channels], logits=True)["logits"]
    return logits.softmax(dim=-1).view(*images.shape[:2], -1)


def content_hash(data: ImageData) -> str:
    """sha256 of a dataset's pixels and shape: the identity of a reference set."""
    digest = hashlib.sha256(str(tuple(data.images.shape)).encode())
    digest.update(data.images.cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def reference_path(data: ImageData, extractor: Any) -> Path:
    """Cache file for the features of ``data`` under ``extractor``."""
    ident = extractor_identity(extractor)
    key = f"{content_hash(data)[:16]}-{ident['extractor']}-{ident['extractor_sha256'][:16]}"
    return cache_dir() / "reference" / f"{key}.safetensors"


def reference_features(data: ImageData, extractor: Any, logits: bool = False) -> dict[str, Tensor]:
    """Features of real images, computed once per (pixels, extractor) and cached on disk."""
    path = reference_path(data, extractor)
    if path.exists():
        try:
            cached = load_file(path)
            if not logits or "logits" in cached:
                return cached
        except (SafetensorError, OSError):
            pass  # a damaged cache file is recomputed
    result = extract(extractor, data.images, logits=logits)
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in result.items()}, str(tmp))
    return result
