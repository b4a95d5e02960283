"""DCGAN generator and discriminator (Radford et al. 2016) for 28, 32 and 64 pixels, gray or RGB."""

from __future__ import annotations

from torch import Tensor, nn

from ..errors import GenlabError
from .conditional import LabelConcat, ProjectionHead
from .spectral import spectral_wrap


def upsampling_plan(image_size: int) -> tuple[int, int]:
    """(start size, number of x2 stages): 64 -> (4, 4), 32 -> (4, 3), 28 -> (7, 2)."""
    size, stages = image_size, 0
    while size % 2 == 0 and size // 2 >= 4:
        size, stages = size // 2, stages + 1
    if stages == 0 or size > 8:
        raise GenlabError(f"DCGAN needs an image size like 28, 32 or 64 (start 4-8 pixels), got {image_size}")
    return size, stages


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # layer norm over (C, H, W), as WGAN-GP recommends
    if kind == "none":
        return nn.Identity()
    raise GenlabError(f"unknown norm {kind!r}; use batch, layer or none")


class DCGANGenerator(nn.Module):
    """z [B, latent] (+ class embedding) -> image [B, C, H, W] in [-1, 1] (tanh)."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int = 64, num_classes: int = 0):
        super().__init__()
        start, stages = upsampling_plan(image_size)
        self.condition = LabelConcat(latent_dim, num_classes)
        in_dim = self.condition.out_dim
        top = width * 2 ** (stages - 1)
        layers: list[nn.Module] = [  # (width * 2^(stages-1)) x start x start
            nn.ConvTranspose2d(in_dim, top, start, 1, 0, bias=False),
            nn.BatchNorm2d(top),
            nn.ReLU(True),
        ]
        ch = top
        for _ in range(stages - 1):  # each stage doubles the size and halves the channels
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]  # channels x size x size
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(self.condition(z, labels)[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """image [B, C, H, W] (+ labels, projection of Miyato & Koyama 2018) -> logit [B]."""

    def __init__(
        self,
        channels: int,
        image_size: int,
        width: int = 64,
        norm: str = "batch",
        spectral: bool = False,
        num_classes: int = 0,
    ):
        super().__init__()
        start, stages = upsampling_plan(image_size)
        wrap = spectral_wrap(spectral)
        layers: list[nn.Module] = [wrap(nn.Conv2d(channels, width, 4, 2, 1, bias=False)), nn.LeakyReLU(0.2, True)]
        ch = width
        for _ in range(stages - 1):  # (2ch) x size/2 x size/2
            layers += [
                wrap(nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm == "none")),
                _norm(norm, ch * 2),
                nn.LeakyReLU(0.2, True),
            ]
            ch *= 2
        # (width * 2^(stages-1)) x start x start; a linear head on it equals DCGAN's final start x start conv
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = ProjectionHead(ch * start * start, num_classes, wrap)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.head(self.features(x), labels)
