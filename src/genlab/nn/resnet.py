"""Image-to-image networks of CycleGAN (Zhu et al. 2017, appendix 7.2): a ResNet-block generator
(Johnson et al. 2016) and a PatchGAN discriminator (Isola et al. 2017), both with instance norm; and
SimGAN's full-resolution refiner (Shrivastava et al. 2017) built from the same residual blocks."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from torch import Tensor, nn

from ..errors import GenlabError
from .style import StyledDecoder


def _norm(channels: int) -> nn.Module:
    """Instance norm (Ulyanov et al. 2016) with a learned scale and shift."""
    return nn.InstanceNorm2d(channels, affine=True)


def _c7s1(in_ch: int, out_ch: int) -> list[nn.Module]:
    """c7s1-k: reflection-padded 7x7 convolution, stride 1."""
    return [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, out_ch, 7, bias=False)]


class ResidualBlock(nn.Module):
    """R-k: two reflection-padded 3x3 convolutions with instance norm, added to the input."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=False),
            _norm(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=False),
            _norm(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def check_width(width: int, blocks: int) -> None:
    """A clear line for a width below 1 or a negative number of residual blocks."""
    if width < 1 or blocks < 0:
        raise GenlabError("generator width must be at least 1 and the number of residual blocks >= 0")


def check_quarter_size(image_size: int, net: str = "the ResNet generator") -> None:
    """Nets that down-sample twice by 2 need S a multiple of 4 and at least 8."""
    if image_size < 8 or image_size % 4:
        raise GenlabError(f"{net} needs an image size that is a multiple of 4 and at least 8, got {image_size}")


def down_layers(channels: int, width: int) -> list[nn.Module]:
    """c7s1-k, d2k, d4k: image [B, C, S, S] -> (4k) x S/4 x S/4 features."""
    w = width
    layers: list[nn.Module] = [*_c7s1(channels, w), _norm(w), nn.ReLU(True)]  # (w) x S x S
    for mult in (1, 2):  # d2k, d4k: (w*2) x S/2, then (w*4) x S/4
        layers += [nn.Conv2d(w * mult, w * mult * 2, 3, 2, 1, bias=False), _norm(w * mult * 2), nn.ReLU(True)]
    return layers


def residual_blocks(channels: int, blocks: int) -> list[nn.Module]:
    """R-k x blocks at one resolution."""
    return [ResidualBlock(channels) for _ in range(blocks)]


def up_layers(width: int, channels: int) -> list[nn.Module]:
    """u2k, uk, c7s1-C + tanh: (4k) x S/4 x S/4 features -> image [B, C, S, S] in [-1, 1]."""
    w, layers = width, []
    for mult in (4, 2):  # u2k, uk: fractionally strided 3x3 convs back to (w) x S x S
        layers += [
            nn.ConvTranspose2d(w * mult, w * mult // 2, 3, 2, 1, output_padding=1, bias=False),
            _norm(w * mult // 2),
            nn.ReLU(True),
        ]
    return layers + [nn.ReflectionPad2d(3), nn.Conv2d(w, channels, 7), nn.Tanh()]  # C x S x S


def up_sampling(width: int, channels: int, style_dim: int = 0) -> nn.Module:
    """A generator's way back to the image: ``up_layers``, or with ``style_dim`` > 0 the StyledDecoder, which takes
    a style [B, style_dim] too; ``decode`` runs either."""
    return StyledDecoder(width, channels, style_dim) if style_dim else nn.Sequential(*up_layers(width, channels))


def decode(decoder: nn.Module, features: Tensor, style: Tensor | None = None) -> Tensor:
    """The image ``decoder`` (from ``up_sampling``) makes of (4k) x S/4 x S/4 features, in ``style`` when it is
    styled; one clear line for a style it cannot take or one it lacks."""
    if not isinstance(decoder, StyledDecoder):
        if style is not None:
            raise GenlabError("this generator has no style codes (model.style_dim 0): translate without a style")
        return decoder(features)
    if style is None:
        raise GenlabError("this generator draws with a style code: pass style [B, style_dim]")
    return decoder(features, style)


def rename_on_load(module: nn.Module, rename: Callable[[str], str]) -> None:
    """Load weights saved under older names: before ``module`` loads a state dict, every key under its prefix is
    renamed by ``rename`` (a name relative to ``module`` -> the current one; current names map to themselves)."""

    def hook(module: nn.Module, state_dict: dict, prefix: str, *args: Any) -> None:
        for key in [k for k in state_dict if k.startswith(prefix)]:
            new = prefix + rename(key[len(prefix) :])
            if new != key:
                state_dict[new] = state_dict.pop(key)

    module.register_load_state_dict_pre_hook(hook)


def split_sequential_name(name: str, old: str, head: str, head_length: int, tail: str) -> str:
    """A key of a layout whose nn.Sequential ``old`` (a dotted name) held two parts -> the current key: ``old.i.*``
    becomes ``head.i.*`` for i < head_length, else ``tail.(i - head_length).*``; other keys stay."""
    if not name.startswith(old + "."):
        return name
    index, _, rest = name[len(old) + 1 :].partition(".")
    i = int(index)
    return f"{head}.{i}.{rest}" if i < head_length else f"{tail}.{i - head_length}.{rest}"


class ResnetGenerator(nn.Module):
    """c7s1-k, d2k, d4k, R4k x blocks, u2k, uk, c7s1-C + tanh: image [B, C, S, S] -> image in [-1, 1].

    The paper's 9-block net is ``width=64, blocks=9``; S must be a multiple of 4 and at least 8. ``trunk`` holds
    the layers up to the residual blocks and ``decoder`` the up-sampling, a StyledDecoder with ``style_dim`` > 0
    (then ``forward`` takes a style [B, style_dim] too): the trunk's weights keep their names either way.
    """

    def __init__(self, channels: int, image_size: int, width: int = 64, blocks: int = 9, style_dim: int = 0):
        super().__init__()
        check_quarter_size(image_size)
        check_width(width, blocks)
        self.style_dim = style_dim
        self.trunk = nn.Sequential(*down_layers(channels, width), *residual_blocks(width * 4, blocks))
        self.decoder = up_sampling(width, channels, style_dim)
        # runs saved before the split held the trunk, then (unstyled) the up-sampling, in one Sequential `net`
        rename_on_load(
            self, partial(split_sequential_name, old="net", head="trunk", head_length=len(self.trunk), tail="decoder")
        )

    def forward(self, x: Tensor, style: Tensor | None = None) -> Tensor:
        return self.render(self.trunk(x), style)

    def render(self, features: Tensor, style: Tensor | None = None) -> Tensor:
        """The image of the trunk's features (in ``style`` for a styled generator: one trunk, many styles)."""
        return decode(self.decoder, features, style)


class RefinerNet(nn.Module):
    """SimGAN's refiner (Shrivastava et al. 2017, Sec. 3.1): a 3x3 conv to ``width`` maps, ``blocks`` residual
    blocks and a 1x1 conv back to the image channels, all at full resolution (no down-sampling, so any
    image size works and every output pixel depends only on a small neighbourhood); tanh output in [-1, 1].
    """

    def __init__(self, channels: int, width: int = 64, blocks: int = 4):
        super().__init__()
        check_width(width, blocks)
        self.net = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, width, 3),
            nn.ReLU(True),  # (width) x S x S
            *[ResidualBlock(width) for _ in range(blocks)],
            nn.Conv2d(width, channels, 1),
            nn.Tanh(),
        )  # C x S x S

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def patch_layers(image_size: int) -> int:
    """Stride-2 layers of a PatchGAN by image size: 3 (the paper's 70x70 patches) from 64 px, else 2."""
    return 3 if image_size >= 64 else 2


def patch_map_size(image_size: int, layers: int) -> int:
    """Side of the PatchGAN's logit map: ``layers`` 4x4 stride-2 convs, then two 4x4 stride-1 convs (pad 1)."""
    size = image_size
    for _ in range(layers):
        size = (size + 2 - 4) // 2 + 1
    return size - 2


class PatchDiscriminator(nn.Module):
    """C64-C128-C256-C512 PatchGAN: image [B, C, S, S] -> logit map [B, 1, S', S'], one logit per patch.

    ``layers`` stride-2 4x4 convs (widths w, 2w, 4w, ... capped at 8w; no norm on the first), one stride-1
    conv of the next width, then a 1-channel conv; LeakyReLU(0.2). ``layers=3`` is the paper's 70x70 net;
    ``layers=2`` (34x34 patches) keeps a 5x5 map for 28-px digits.
    """

    def __init__(self, channels: int, image_size: int, width: int = 64, layers: int = 3):
        super().__init__()
        if layers < 1 or width < 1:
            raise GenlabError("the PatchGAN needs at least one stride-2 layer and a width of at least 1")
        if patch_map_size(image_size, layers) < 1:
            raise GenlabError(
                f"{image_size}-px images are too small for a PatchGAN with {layers} stride-2 "
                f"layers; lower model.d_layers"
            )
        widths = [width * min(2**i, 8) for i in range(layers + 1)]
        blocks: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for i in range(1, layers + 1):  # stride 2 up to the last, which keeps the size (minus one)
            stride = 2 if i < layers else 1
            blocks += [
                nn.Conv2d(widths[i - 1], widths[i], 4, stride, 1, bias=False),
                _norm(widths[i]),
                nn.LeakyReLU(0.2, True),
            ]
        blocks.append(nn.Conv2d(widths[-1], 1, 4, 1, 1))  # 1 x S' x S' logits
        self.net = nn.Sequential(*blocks)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
