"""Inception-v3 (Szegedy et al. 2016) in the FID variant of Heusel et al. 2017, without torchvision.

The network is the TensorFlow graph `inception-2015-12-05` that the reference FID code uses, as
ported to PyTorch by pytorch-fid: 1008 classes, 3x3 average pools that ignore the zero padding,
and a max pool in the last block. Parameter names follow that port, so its weights file loads with
strict key matching. torch-fidelity ships the very same file under another name (same sha256).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import GenlabError
from ..files import sha256_file

INPUT_SIZE = 299
WEIGHTS_FILES = ("pt_inception-2015-12-05-6726825d.pth", "weights-inception-2015-12-05-6726825d.pth")
WEIGHTS_URLS = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + WEIGHTS_FILES[0],
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + WEIGHTS_FILES[1],
)
# The name suffix is the first 8 hex digits of the file's sha256 (torch.hub's naming convention).
# The full digest is the one public projects pin for both file names (95,628,359 bytes).
EXPECTED_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"


class _ConvBN(nn.Module):
    """Conv (no bias) -> batch norm (TensorFlow's eps 1e-3) -> ReLU: every Inception-v3 layer."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int | tuple[int, int],
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
    ):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_ch, eps=1e-3)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def _row(in_ch: int, out_ch: int, n: int) -> _ConvBN:
    """A 1 x n convolution with 'same' padding (half of a factorized n x n, Szegedy et al. 2016 Fig. 6)."""
    return _ConvBN(in_ch, out_ch, (1, n), padding=(0, n // 2))


def _col(in_ch: int, out_ch: int, n: int) -> _ConvBN:
    """An n x 1 convolution with 'same' padding (the other half of a factorized n x n)."""
    return _ConvBN(in_ch, out_ch, (n, 1), padding=(n // 2, 0))


def _chain(x: Tensor, *layers: nn.Module) -> Tensor:
    """Apply layers in order (one branch of an Inception block)."""
    for layer in layers:
        x = layer(x)
    return x


def _pool_3x3(x: Tensor, kind: str) -> Tensor:
    """3x3 stride-1 'same' pool of the FID graph: the average ignores padded zeros; Mixed_7c uses max."""
    if kind == "max":
        return F.max_pool2d(x, 3, 1, 1)
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


class _BlockA(nn.Module):
    """35x35 block: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | pool-1x1 -> (224 + pool_ch) channels."""

    def __init__(self, in_ch: int, pool_ch: int):
        super().__init__()
        self.branch1x1 = _ConvBN(in_ch, 64, 1)
        self.branch5x5_1 = _ConvBN(in_ch, 48, 1)
        self.branch5x5_2 = _ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _ConvBN(in_ch, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, padding=1)
        self.branch_pool = _ConvBN(in_ch, pool_ch, 1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat(
            [
                self.branch1x1(x),
                _chain(x, self.branch5x5_1, self.branch5x5_2),
                _chain(x, self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3),
                self.branch_pool(_pool_3x3(x, "avg")),
            ],
            1,
        )


class _ReduceB(nn.Module):
    """Grid reduction 35 -> 17: stride-2 3x3 | 1x1-3x3-3x3(s2) | max pool -> (480 + in_ch) channels."""

    def __init__(self, in_ch: int):
        super().__init__()
        self.branch3x3 = _ConvBN(in_ch, 384, 3, stride=2)
        self.branch3x3dbl_1 = _ConvBN(in_ch, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat(
            [
                self.branch3x3(x),
                _chain(x, self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3),
                F.max_pool2d(x, 3, 2),
            ],
            1,
        )


class _BlockC(nn.Module):
    """17x17 block with factorized 7x7 convolutions (Fig. 6) -> 768 channels."""

    def __init__(self, in_ch: int, c7: int):
        super().__init__()
        self.branch1x1 = _ConvBN(in_ch, 192, 1)
        self.branch7x7_1 = _ConvBN(in_ch, c7, 1)
        self.branch7x7_2 = _row(c7, c7, 7)
        self.branch7x7_3 = _col(c7, 192, 7)
        self.branch7x7dbl_1 = _ConvBN(in_ch, c7, 1)
        self.branch7x7dbl_2 = _col(c7, c7, 7)
        self.branch7x7dbl_3 = _row(c7, c7, 7)
        self.branch7x7dbl_4 = _col(c7, c7, 7)
        self.branch7x7dbl_5 = _row(c7, 192, 7)
        self.branch_pool = _ConvBN(in_ch, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        double = (
            self.branch7x7dbl_1,
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        )
        return torch.cat(
            [
                self.branch1x1(x),
                _chain(x, self.branch7x7_1, self.branch7x7_2, self.branch7x7_3),
                _chain(x, *double),
                self.branch_pool(_pool_3x3(x, "avg")),
            ],
            1,
        )


class _ReduceD(nn.Module):
    """Grid reduction 17 -> 8: 1x1-3x3(s2) | 1x1-1x7-7x1-3x3(s2) | max pool -> (512 + in_ch) channels."""

    def __init__(self, in_ch: int):
        super().__init__()
        self.branch3x3_1 = _ConvBN(in_ch, 192, 1)
        self.branch3x3_2 = _ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _ConvBN(in_ch, 192, 1)
        self.branch7x7x3_2 = _row(192, 192, 7)
        self.branch7x7x3_3 = _col(192, 192, 7)
        self.branch7x7x3_4 = _ConvBN(192, 192, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat(
            [
                _chain(x, self.branch3x3_1, self.branch3x3_2),
                _chain(x, self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4),
                F.max_pool2d(x, 3, 2),
            ],
            1,
        )


class _BlockE(nn.Module):
    """8x8 block with split 1x3/3x1 outputs (Fig. 7) -> 2048 channels; pool is 'avg' or 'max'."""

    def __init__(self, in_ch: int, pool: str):
        super().__init__()
        self.pool = pool
        self.branch1x1 = _ConvBN(in_ch, 320, 1)
        self.branch3x3_1 = _ConvBN(in_ch, 384, 1)
        self.branch3x3_2a = _row(384, 384, 3)
        self.branch3x3_2b = _col(384, 384, 3)
        self.branch3x3dbl_1 = _ConvBN(in_ch, 448, 1)
        self.branch3x3dbl_2 = _ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = _row(384, 384, 3)
        self.branch3x3dbl_3b = _col(384, 384, 3)
        self.branch_pool = _ConvBN(in_ch, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        single = self.branch3x3_1(x)
        double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch3x3_2a(single),
                self.branch3x3_2b(single),
                self.branch3x3dbl_3a(double),
                self.branch3x3dbl_3b(double),
                self.branch_pool(_pool_3x3(x, self.pool)),
            ],
            1,
        )


def preprocess(images: Tensor, size: int = INPUT_SIZE) -> Tensor:
    """Images [B, 1|3, H, W] in [0, 1] -> [B, 3, size, size] in [-1, 1], resized as pytorch-fid does.

    Resize: `F.interpolate(mode="bilinear", align_corners=False)`, no antialiasing, before scaling
    (pytorch-fid's convention). TensorFlow 1.x's `resize_bilinear`, which the original FID code and
    torch-fidelity emulate, samples differently, so features differ slightly unless images are
    already 299x299. Gray images are repeated to RGB.
    """
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise GenlabError(f"Inception expects images [B, 1 or 3, H, W]; got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        raise GenlabError(f"Inception expects float images in [0, 1]; got {images.dtype} (divide by 255)")
    x = images
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return 2 * x - 1


class FIDInceptionV3(nn.Module):
    """Images [B, 1|3, H, W] in [0, 1] -> 2048-d pool3 features, the FID/KID features (Heusel et al. 2017)."""

    name = "inception-v3-fid"
    num_features = 2048
    num_classes = 1008

    def __init__(self, with_logits: bool = True):
        super().__init__()
        self.weights_sha256: str | None = None
        self.Conv2d_1a_3x3 = _ConvBN(3, 32, 3, stride=2)  # 32 x 149 x 149
        self.Conv2d_2a_3x3 = _ConvBN(32, 32, 3)  # 32 x 147 x 147
        self.Conv2d_2b_3x3 = _ConvBN(32, 64, 3, padding=1)  # 64 x 147 x 147, max pool -> 73 x 73
        self.Conv2d_3b_1x1 = _ConvBN(64, 80, 1)  # 80 x 73 x 73
        self.Conv2d_4a_3x3 = _ConvBN(80, 192, 3)  # 192 x 71 x 71, max pool -> 35 x 35
        self.Mixed_5b = _BlockA(192, 32)  # 256 x 35 x 35
        self.Mixed_5c = _BlockA(256, 64)  # 288 x 35 x 35
        self.Mixed_5d = _BlockA(288, 64)  # 288 x 35 x 35
        self.Mixed_6a = _ReduceB(288)  # 768 x 17 x 17
        self.Mixed_6b = _BlockC(768, 128)  # 768 x 17 x 17
        self.Mixed_6c = _BlockC(768, 160)
        self.Mixed_6d = _BlockC(768, 160)
        self.Mixed_6e = _BlockC(768, 192)
        self.Mixed_7a = _ReduceD(768)  # 1280 x 8 x 8
        self.Mixed_7b = _BlockE(1280, "avg")  # 2048 x 8 x 8
        self.Mixed_7c = _BlockE(2048, "max")  # 2048 x 8 x 8
        self.fc = nn.Linear(self.num_features, self.num_classes) if with_logits else None

    def forward(self, images: Tensor) -> Tensor:
        """Images [B, 1|3, H, W] in [0, 1] -> pool3 features [B, 2048] (global average of Mixed_7c)."""
        x = preprocess(images).to(self.Conv2d_1a_3x3.conv.weight.dtype)
        x = F.max_pool2d(_chain(x, self.Conv2d_1a_3x3, self.Conv2d_2a_3x3, self.Conv2d_2b_3x3), 3, 2)
        x = F.max_pool2d(_chain(x, self.Conv2d_3b_1x1, self.Conv2d_4a_3x3), 3, 2)
        x = _chain(
            x,
            self.Mixed_5b,
            self.Mixed_5c,
            self.Mixed_5d,
            self.Mixed_6a,
            self.Mixed_6b,
            self.Mixed_6c,
            self.Mixed_6d,
            self.Mixed_6e,
            self.Mixed_7a,
            self.Mixed_7b,
            self.Mixed_7c,
        )
        return F.adaptive_avg_pool2d(x, 1).flatten(1)

    def classify(self, features: Tensor, bias: bool = True) -> Tensor:
        """pool3 features [B, 2048] -> 1008-way logits; bias=False is the Inception Score's (Salimans et al. 2016)."""
        if self.fc is None:
            raise GenlabError("this Inception has no fc layer: logits need a weights file that includes it")
        return F.linear(features, self.fc.weight, self.fc.bias if bias else None)


def _weights_file(path: Path) -> Path:
    """The weights file itself, or one of the two standard names inside a directory."""
    candidates = [path / name for name in WEIGHTS_FILES] if path.is_dir() else [path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise GenlabError(
        f"Inception weights not found at {path}: download {WEIGHTS_FILES[0]} ({WEIGHTS_URLS[0]}) "
        f"or {WEIGHTS_FILES[1]} ({WEIGHTS_URLS[1]}); sha256 starts with {EXPECTED_SHA256[:8]}"
    )


def _read_state(path: Path) -> dict[str, Tensor]:
    """The state dict in a weights file, unpickled with weights_only=True (tensors only)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt file, or pickled objects weights_only refuses
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise GenlabError(f"cannot read Inception weights {path}: {first}") from None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise GenlabError(f"Inception weights {path} are not a state dict of tensors")
    return dict(state)


def _mismatch(state: dict[str, Tensor], expected: dict[str, Tensor]) -> str:
    """A one-line description of how a state dict differs from a module's ('' when it fits)."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    parts = [
        f"{label} {len(keys)} (e.g. {keys[0]})"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes))
        if keys
    ]
    return "; ".join(parts)


def load_inception(path: str | Path, check_hash: bool = True) -> FIDInceptionV3:
    """The FID Inception-v3 (Heusel et al. 2017) from a local pytorch-fid or torch-fidelity weights file, eval mode."""
    file = _weights_file(Path(path))
    digest = sha256_file(file)
    if check_hash and digest != EXPECTED_SHA256:
        raise GenlabError(
            f"{file} is not the expected Inception weights ({' or '.join(WEIGHTS_FILES)}): "
            f"sha256 {digest[:8]}..., expected {EXPECTED_SHA256[:8]}..."
        )
    state = _read_state(file)
    model = FIDInceptionV3(with_logits="fc.weight" in state)
    expected = model.state_dict()
    for key, value in expected.items():  # files saved before BatchNorm counted batches lack this buffer
        if key.endswith("num_batches_tracked"):
            state.setdefault(key, torch.zeros_like(value))
    if problem := _mismatch(state, expected):
        raise GenlabError(f"{file} does not fit the FID Inception-v3: {problem}")
    model.load_state_dict(state, strict=True)
    model.weights_sha256 = digest
    return model.requires_grad_(False).eval()
