"""Deterministic synthetic weights for the FID Inception-v3, made with NumPy alone.

The real weights file (pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth``) is not shipped, so parity with
pytorch-fid is pinned under these stand-in weights instead: the same values load into genlab's
``FIDInceptionV3`` and into pytorch-fid's network, and both must give the same features
(tests/test_nn_inception.py; benchmarks/fid_parity_fixture.py makes the reference features).

Each tensor is drawn from its own ``numpy.random.RandomState`` seeded with ``zlib.crc32`` of its key, so a value
depends only on the key name, the shape and ``seed``: not on dict order, not on the NumPy version (RandomState's
streams are frozen), not on torch. Convolution and fc weights are He-scaled from their fan-in (Gaussian, std
sqrt(2 / fan_in)); batch norm has weight near 1, small bias and running mean, and running variance in [0.5, 1.5],
so activations stay finite and differ between images through all 94 layers.

This module imports NumPy only: the fixture script loads it by path inside a virtual environment without genlab.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence

import numpy as np


def _rng(key: str, seed: int) -> np.random.RandomState:
    """A RandomState that depends on the key name and the seed only."""
    return np.random.RandomState((zlib.crc32(key.encode()) + seed) % 2**32)


def synthetic_tensor(key: str, shape: Sequence[int], seed: int = 0) -> np.ndarray:
    """One state-dict entry of the given key and shape: He-scaled weights, sensible batch-norm statistics."""
    shape = tuple(int(n) for n in shape)
    if key.endswith("num_batches_tracked"):
        return np.zeros(shape, np.int64)
    rng = _rng(key, seed)
    if key.endswith("running_var"):
        values = rng.uniform(0.5, 1.5, shape)
    elif key.endswith("bn.weight"):
        values = rng.uniform(0.8, 1.2, shape)
    elif key.endswith(("bias", "running_mean")):
        values = rng.normal(0.0, 0.1, shape)
    else:  # a convolution [out, in, kh, kw] or the fc layer [out, in]
        fan_in = math.prod(shape[1:])
        values = rng.normal(0.0, math.sqrt(2.0 / fan_in), shape)
    return values.astype(np.float32)


def synthetic_inception_state(shapes: Mapping[str, Sequence[int]], seed: int = 0) -> dict[str, np.ndarray]:
    """A synthetic state dict (NumPy arrays) for the keys and shapes of a network's ``state_dict()``."""
    return {key: synthetic_tensor(key, shape, seed) for key, shape in shapes.items()}
