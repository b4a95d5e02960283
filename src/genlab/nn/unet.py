"""The denoising U-Net of diffusion models (Ho et al. 2020, Sec. 4 and App. B; Nichol & Dhariwal 2021): residual
blocks with GroupNorm whose features a sinusoidal noise-level embedding (and an optional class embedding) scales
and shifts (Dhariwal & Nichol 2021), self-attention at the lowest resolutions, skip connections between the two
halves."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import GenlabError


def group_count(channels: int, most: int = 32) -> int:
    """The largest number of GroupNorm groups, at most ``most``, that divides ``channels`` (Wu & He 2018 use 32)."""
    return max(g for g in range(1, min(most, channels) + 1) if channels % g == 0)


def norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(group_count(channels), channels)


def zeroed(module: nn.Module) -> nn.Module:
    """A layer whose weights and bias start at zero, so that a residual branch starts as the identity."""
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


def sinusoidal_embedding(levels: Tensor, dim: int, max_period: float = 10_000.0) -> Tensor:
    """[B] noise levels -> [B, dim] sines and cosines at geometric frequencies (Vaswani et al. 2017, Sec. 3.5;
    the time embedding of Ho et al. 2020)."""
    half = dim // 2
    frequencies = torch.exp(-math.log(max_period) * torch.arange(half, device=levels.device) / half)
    angles = levels.float()[:, None] * frequencies[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


class ResidualBlock(nn.Module):
    """x + conv(SiLU(GN(h) (1 + s) + b)) with h = conv(SiLU(GN(x))) and (s, b) = proj(emb), with a 1x1 skip when
    the channels change. The embedding scales and shifts the normalised features (adaptive group norm, Dhariwal &
    Nichol 2021, Sec. 3): added before the norm, as in Ho et al. 2020, a group of one channel would remove it."""

    def __init__(self, channels_in: int, channels_out: int, embed_dim: int, dropout: float):
        super().__init__()
        self.inner = nn.Sequential(norm(channels_in), nn.SiLU(), nn.Conv2d(channels_in, channels_out, 3, padding=1))
        self.embed = nn.Sequential(nn.SiLU(), nn.Linear(embed_dim, 2 * channels_out))
        self.norm = norm(channels_out)
        self.outer = nn.Sequential(
            nn.SiLU(), nn.Dropout(dropout), zeroed(nn.Conv2d(channels_out, channels_out, 3, padding=1))
        )
        self.skip = nn.Identity() if channels_in == channels_out else nn.Conv2d(channels_in, channels_out, 1)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        scale, shift = self.embed(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm(self.inner(x)) * (1 + scale) + shift
        return self.skip(x) + self.outer(h)


class SelfAttention(nn.Module):
    """x + proj(softmax(q k^T / sqrt(d)) v) over the pixels of a feature map (Vaswani et al. 2017)."""

    def __init__(self, channels: int, heads: int = 1):
        super().__init__()
        self.heads = heads if channels % heads == 0 else 1
        self.norm = norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = zeroed(nn.Conv2d(channels, channels, 1))

    def forward(self, x: Tensor, emb: Tensor | None = None) -> Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).transpose(-1, -2).unbind(1)
        attended = F.scaled_dot_product_attention(q, k, v)  # [B, heads, HW, C / heads]
        return x + self.out(attended.transpose(-1, -2).reshape(b, c, h, w))


class Stage(nn.Module):
    """A residual block and, at the attention resolutions, self-attention after it."""

    def __init__(self, channels_in: int, channels_out: int, embed_dim: int, dropout: float, attend: bool):
        super().__init__()
        self.block = ResidualBlock(channels_in, channels_out, embed_dim, dropout)
        self.attention = SelfAttention(channels_out) if attend else None

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        x = self.block(x, emb)
        return x if self.attention is None else self.attention(x)


def level_sizes(image_size: int, levels: int) -> list[int]:
    """The feature-map size at each level: halved ``levels - 1`` times (28 -> 28, 14, 7; 32 -> 32, 16, 8, 4)."""
    if image_size % 2 ** (levels - 1) or image_size // 2 ** (levels - 1) < 2:
        raise GenlabError(
            f"an image size of {image_size} cannot be halved {levels - 1} times (one per model.widths entry after "
            "the first): use fewer widths, or 28, 32 or 64 pixels"
        )
    return [image_size // 2**i for i in range(levels)]


class UNet(nn.Module):
    """(x [B, C, H, W], noise level [B], labels [B] or None) -> [B, C, H, W]. ``widths`` are the channels of each
    level, ``blocks`` the residual blocks per level, ``attention_size`` the largest feature-map size with
    self-attention (the middle always has it); ``num_classes`` > 0 adds a class embedding whose extra index
    ``num_classes`` means no label (classifier-free guidance, Ho & Salimans 2021)."""

    def __init__(
        self,
        channels: int,
        image_size: int,
        widths: tuple[int, ...],
        blocks: int,
        attention_size: int,
        dropout: float = 0.0,
        num_classes: int = 0,
    ):
        super().__init__()
        if not widths or min(widths) < 1 or blocks < 1:
            raise GenlabError("model.widths needs at least one positive width and model.blocks must be >= 1")
        sizes, embed_dim = level_sizes(image_size, len(widths)), 4 * widths[0]
        self.num_classes, self.base_width = num_classes, widths[0]
        self.embed = nn.Sequential(nn.Linear(widths[0], embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim))
        self.label_embed = nn.Embedding(num_classes + 1, embed_dim) if num_classes else None
        self.stem = nn.Conv2d(channels, widths[0], 3, padding=1)
        stage = lambda c_in, c_out, size: Stage(c_in, c_out, embed_dim, dropout, size <= attention_size)  # noqa: E731
        self.down, skips = self._down_path(widths, blocks, sizes, stage)
        middle = widths[-1]
        self.middle = nn.ModuleList(
            [Stage(middle, middle, embed_dim, dropout, attend=True), Stage(middle, middle, embed_dim, dropout, False)]
        )
        self.up = self._up_path(widths, blocks, sizes, stage, skips)
        self.head = nn.Sequential(norm(widths[0]), nn.SiLU(), zeroed(nn.Conv2d(widths[0], channels, 3, padding=1)))

    @staticmethod
    def _down_path(widths, blocks, sizes, stage) -> tuple[nn.ModuleList, list[int]]:
        """Stages and stride-2 convolutions from the image down to the lowest level; the channels of every
        activation kept for a skip connection."""
        layers, skips, channels = nn.ModuleList(), [widths[0]], widths[0]
        for level, (width, size) in enumerate(zip(widths, sizes)):
            for _ in range(blocks):
                layers.append(stage(channels, width, size))
                channels = width
                skips.append(channels)
            if level < len(widths) - 1:
                layers.append(nn.Conv2d(channels, channels, 3, stride=2, padding=1))
                skips.append(channels)
        return layers, skips

    @staticmethod
    def _up_path(widths, blocks, sizes, stage, skips: list[int]) -> nn.ModuleList:
        """Stages that each take one skip connection (blocks + 1 per level), then x2 nearest upsampling and a
        convolution, from the lowest level back to the image."""
        layers, channels, skips = nn.ModuleList(), widths[-1], list(skips)
        for level in reversed(range(len(widths))):
            for _ in range(blocks + 1):
                layers.append(stage(channels + skips.pop(), widths[level], sizes[level]))
                channels = widths[level]
            if level > 0:
                layers.append(nn.Sequential(nn.Upsample(scale_factor=2.0), nn.Conv2d(channels, channels, 3, padding=1)))
        return layers

    def embedding(self, noise_level: Tensor, labels: Tensor | None) -> Tensor:
        """The noise level's embedding, plus the label's (the no-label index where ``labels`` is None)."""
        emb = self.embed(sinusoidal_embedding(noise_level, self.base_width).to(self.stem.weight.dtype))
        if self.label_embed is None:
            return emb
        if labels is None:
            labels = torch.full(noise_level.shape, self.num_classes, dtype=torch.long, device=noise_level.device)
        return emb + self.label_embed(labels)

    def forward(self, x: Tensor, noise_level: Tensor, labels: Tensor | None = None) -> Tensor:
        emb = self.embedding(noise_level, labels)
        h = self.stem(x)
        kept = [h]
        for layer in self.down:
            h = layer(h, emb) if isinstance(layer, Stage) else layer(h)
            kept.append(h)
        for layer in self.middle:
            h = layer(h, emb)
        for layer in self.up:
            h = layer(torch.cat([h, kept.pop()], dim=1), emb) if isinstance(layer, Stage) else layer(h)
        return self.head(h)
