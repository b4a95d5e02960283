"""Regenerate tests/fixtures/fid_parity.npz: pytorch-fid's own FID features of a few fixed images.

tests/test_nn_inception.py pins genlab's FIDInceptionV3 to these features. The real Inception weights cannot be
downloaded offline, so pytorch-fid's network gets the synthetic weights of genlab.testing.inception_weights
instead: the function it fetches the weights with (``pytorch_fid.inception.load_state_dict_from_url``) is
replaced by one returning them, and its strict ``load_state_dict`` checks that every key and shape fits. The test
loads the same weights into genlab's network and compares the features.

Run it with pytorch-fid installed, in a throwaway virtual environment (genlab itself is not needed there: the
weights generator is loaded by path and imports NumPy only). On x86_64 Python 3.11:

    python3 -m venv /tmp/fidvenv
    /tmp/fidvenv/bin/pip install torch==2.14.1 torchvision==0.29.1 pytorch-fid==0.3.0
    OMP_NUM_THREADS=1 /tmp/fidvenv/bin/python benchmarks/fid_parity_fixture.py
    rm -r /tmp/fidvenv

The fixture holds the images (uint8: 6 RGB at 32 px, 6 RGB at 64 px, 2 gray at 32 px, which pytorch-fid is fed
repeated to RGB, and 2 RGB of 320 x 304 px, which the network shrinks to 299 x 299), pytorch-fid's 2048-d pool3
features of each set (float32; InceptionV3([3]) with its defaults resize_input=True and normalize_input=True,
the FID configuration), pytorch-fid's own FID between the 32 px and 64 px sets (``calculate_frechet_distance``),
the key -> shape map of pytorch-fid's state dict, and a provenance line with the versions used.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "src" / "genlab" / "testing" / "inception_weights.py"
OUT = ROOT / "tests" / "fixtures" / "fid_parity.npz"
SEED = 0


def load_generator():
    """genlab.testing.inception_weights, loaded from its file without importing genlab."""
    spec = importlib.util.spec_from_file_location("inception_weights", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def patterned(rs: np.random.RandomState, n: int, channels: int, size: tuple[int, int], noise: bool = True):
    """n uint8 images [n, C, H, W]: a tint, a blocky pattern of random cell size, and pixel noise (if noise)."""
    images = []
    height, width = size
    for _ in range(n):
        cells = rs.randint(2, 9)
        coarse = rs.uniform(0, 1, (channels, cells, cells))
        reps = -(-max(size) // cells)
        blocks = np.kron(coarse, np.ones((reps, reps)))[:, :height, :width]
        tint = rs.uniform(0.2, 0.8, (channels, 1, 1))
        grain = rs.uniform(0, 0.2) * rs.uniform(-1, 1, (channels, height, width)) if noise else 0
        image = tint + rs.uniform(0.1, 0.5) * (blocks - 0.5) + grain
        images.append(np.clip(np.round(image * 255), 0, 255).astype(np.uint8))
    return np.stack(images)


def fixture_images(seed: int = SEED) -> dict[str, np.ndarray]:
    """The fixed image sets, by name."""
    rs = np.random.RandomState(seed)
    images = {"rgb32": patterned(rs, 6, 3, (32, 32)), "rgb64": patterned(rs, 6, 3, (64, 64))}
    images["gray32"] = patterned(rs, 2, 1, (32, 32))
    images["rgb320x304"] = patterned(rs, 2, 3, (320, 304), noise=False)  # downscaled: noise-free, to stay small
    return images


def pytorch_fid_network(generator):
    """pytorch-fid's InceptionV3([3]) with the synthetic weights, and its state dict's key -> shape map."""
    import pytorch_fid.inception as pfi
    import torch

    base = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None)  # as fid_inception_v3 builds it
    shapes = {key: list(value.shape) for key, value in base.state_dict().items()}
    state = {k: torch.from_numpy(v) for k, v in generator.synthetic_inception_state(shapes, SEED).items()}
    urls = []

    def fake_download(url, *args, **kwargs):
        """Stand-in for the weights download: the synthetic state dict."""
        urls.append(url)
        return dict(state)

    pfi.load_state_dict_from_url = fake_download
    model = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()  # loads strictly: keys must fit
    assert urls == [pfi.FID_WEIGHTS_URL], urls
    assert model.resize_input and model.normalize_input
    return model, shapes


def features(model, images: np.ndarray) -> np.ndarray:
    """pytorch-fid's pool3 features [N, 2048] of uint8 images, fed as it reads files: float in [0, 1], RGB."""
    import torch

    x = torch.from_numpy(images).float() / 255
    x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
    with torch.no_grad():
        return model(x)[0].flatten(1).numpy().astype(np.float32)


def pytorch_fid_value(a: np.ndarray, b: np.ndarray) -> float:
    """pytorch-fid's FID between two feature sets (its own statistics and Frechet distance)."""
    from pytorch_fid.fid_score import calculate_frechet_distance

    a, b = a.astype(np.float64), b.astype(np.float64)
    stats = [(f.mean(0), np.cov(f, rowvar=False)) for f in (a, b)]
    return float(calculate_frechet_distance(*stats[0], *stats[1]))


def provenance() -> str:
    """Versions and settings the features were made with."""
    import pytorch_fid
    import torch
    import torchvision

    return (
        f"pytorch-fid {pytorch_fid.__version__}, torch {torch.__version__}, torchvision {torchvision.__version__}, "
        f"numpy {np.__version__}; InceptionV3([3]) resize_input=True normalize_input=True, CPU float32; "
        f"weights genlab.testing.inception_weights seed {SEED}; made by benchmarks/fid_parity_fixture.py"
    )


def main() -> None:
    """Compute pytorch-fid's features of the fixed images and write the fixture."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    model, shapes = pytorch_fid_network(load_generator())
    images = fixture_images()
    arrays = {f"images_{name}": value for name, value in images.items()}
    arrays |= {f"features_{name}": features(model, value) for name, value in images.items()}
    fid = pytorch_fid_value(arrays["features_rgb32"], arrays["features_rgb64"])
    arrays |= {"fid_rgb32_rgb64": np.float64(fid), "state_shapes": np.array(json.dumps(shapes))}
    arrays["provenance"] = np.array(provenance())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"{args.out}: {args.out.stat().st_size:,} bytes; pytorch-fid FID rgb32 vs rgb64 {fid:.6f}")
    print(arrays["provenance"])


if __name__ == "__main__":
    main()
