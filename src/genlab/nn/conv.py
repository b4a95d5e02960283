"""Convolutional encoder (stride-2 convolutions) and transposed-convolution decoder."""

from __future__ import annotations

from torch import Tensor, nn

from ..errors import GenlabError

_ACTIVATIONS = {"elu": nn.ELU, "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "silu": nn.SiLU}


def activation(name: str) -> nn.Module:
    """A fresh activation module by name."""
    if name not in _ACTIVATIONS:
        raise GenlabError(f"unknown activation {name!r}; choose one of: {', '.join(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]()


def downsampled_sizes(image_size: int, stages: int) -> list[int]:
    """Spatial sizes after each stride-2 stage (k=4, s=2, p=1 halves, rounding down): 28 -> [28, 14, 7]."""
    sizes = [image_size]
    for _ in range(stages):
        sizes.append(sizes[-1] // 2)
    if sizes[-1] < 1:
        raise GenlabError(f"image size {image_size} is too small for {stages} stride-2 stages")
    return sizes


class ConvEncoder(nn.Module):
    """x [B, C, H, W] -> features [B, out_features]: stride-2 convs, then an MLP head."""

    def __init__(
        self, channels: int, image_size: int, widths: tuple[int, ...], hidden: int, out_features: int, act: str = "elu"
    ):
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = channels
        for width in widths:  # each stage: (width) x size/2 x size/2
            layers += [nn.Conv2d(in_ch, width, 4, 2, 1), activation(act)]
            in_ch = width
        final = downsampled_sizes(image_size, len(widths))[-1]
        head: list[nn.Module] = [nn.Flatten()]
        flat = in_ch * final * final
        if hidden:
            head += [nn.Linear(flat, hidden), activation(act)]
            flat = hidden
        head.append(nn.Linear(flat, out_features))
        self.net = nn.Sequential(*layers, *head)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ConvDecoder(nn.Module):
    """z [B, latent] -> image parameters [B, out_channels, H, W] via transposed convs (mirror of the encoder)."""

    def __init__(
        self,
        latent_dim: int,
        image_size: int,
        widths: tuple[int, ...],
        hidden: int,
        out_channels: int,
        act: str = "elu",
    ):
        super().__init__()
        sizes = downsampled_sizes(image_size, len(widths))
        self.start_shape = (widths[-1], sizes[-1], sizes[-1])
        flat = widths[-1] * sizes[-1] ** 2
        stem: list[nn.Module] = []
        in_features = latent_dim
        if hidden:
            stem += [nn.Linear(latent_dim, hidden), activation(act)]
            in_features = hidden
        stem += [nn.Linear(in_features, flat), activation(act)]
        self.stem = nn.Sequential(*stem)
        chans = list(reversed(widths)) + [out_channels]
        targets = list(reversed(sizes[:-1]))
        layers: list[nn.Module] = []
        for i, target in enumerate(targets):  # (chans[i+1]) x target x target
            pad = target - 2 * sizes[len(widths) - i]  # 1 where the encoder rounded an odd size down
            layers.append(nn.ConvTranspose2d(chans[i], chans[i + 1], 4, 2, 1, output_padding=pad))
            if i < len(targets) - 1:
                layers.append(activation(act))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(self.stem(z).view(-1, *self.start_shape))
