"""Style codes for stochastic translators (MUNIT, Huang et al. 2018): a small encoder that reads an image's global
style into a vector, and an up-sampling decoder whose instance norms take their scale and shift from that vector
(AdaIN, Huang & Belongie 2017). Instance norm removes any per-channel constant, so a style added to the input or
to a feature map would be erased by the next norm; AdaIN puts it where no later norm can undo it."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import GenlabError


def check_style(dim: int, width: int) -> None:
    """A clear line for a negative style size or an encoder narrower than one channel."""
    if dim < 0 or (dim and width < 1):
        raise GenlabError("model.style_dim must be >= 0 and model.style_width at least 1")


class AdaptiveInstanceNorm(nn.Module):
    """AdaIN: instance norm, then a per-channel scale (1 + gamma(s)) and shift beta(s) from the style s."""

    def __init__(self, channels: int, style_dim: int):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.affine = nn.Linear(style_dim, 2 * channels)

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        gamma, beta = self.affine(style).unsqueeze(-1).unsqueeze(-1).chunk(2, 1)
        return self.norm(x) * (1 + gamma) + beta


class StyledDecoder(nn.Module):
    """u2k, uk, c7s1-C + tanh (the ResNet generator's up-sampling) with AdaIN in place of its instance norms:
    (4k) x S/4 x S/4 features and a style [B, style_dim] -> image [B, C, S, S] in [-1, 1]."""

    def __init__(self, width: int, channels: int, style_dim: int):
        super().__init__()
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(width * m, width * m // 2, 3, 2, 1, output_padding=1, bias=False) for m in (4, 2)
        )
        self.norms = nn.ModuleList(AdaptiveInstanceNorm(width * m // 2, style_dim) for m in (4, 2))
        self.out = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(width, channels, 7), nn.Tanh())

    def forward(self, features: Tensor, style: Tensor) -> Tensor:
        for up, norm in zip(self.ups, self.norms):
            features = F.relu(norm(up(features), style))
        return self.out(features)


class StyleEncoder(nn.Module):
    """MUNIT's style encoder, shortened: three stride-2 4x4 convs (no norm, which would erase the style), a global
    average pool and a linear map: image [B, C, S, S] -> style [B, style_dim]."""

    def __init__(self, channels: int, width: int, style_dim: int):
        super().__init__()
        layers: list[nn.Module] = []
        for i, out in enumerate((width, 2 * width, 4 * width)):
            layers += [nn.Conv2d(channels if i == 0 else out // 2, out, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(4 * width, style_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
