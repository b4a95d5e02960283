"""Multilayer perceptrons (generator and critic) for 2-D toy data, and for images as in Goodfellow et al. (2014)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .conditional import LabelConcat, ProjectionHead
from .spectral import spectral_wrap


def mlp(
    in_dim: int,
    hidden: int,
    depth: int,
    out_dim: int,
    act: type[nn.Module] = nn.ReLU,
    spectral: bool = False,
    batch_norm: bool = False,
) -> nn.Sequential:
    """in -> [Linear(hidden), (BatchNorm), act] x depth -> Linear(out); optional spectral norm on every layer."""
    wrap = spectral_wrap(spectral)
    layers: list[nn.Module] = []
    dim = in_dim
    for _ in range(depth):
        layers += [wrap(nn.Linear(dim, hidden)), *([nn.BatchNorm1d(hidden)] if batch_norm else []), act()]
        dim = hidden
    layers.append(wrap(nn.Linear(dim, out_dim)))
    return nn.Sequential(*layers)


class Maxout(nn.Module):
    """A maxout layer (Goodfellow et al. 2013): the maximum of ``pieces`` linear maps per output unit, with
    optional dropout on its input as in that paper."""

    def __init__(self, in_dim: int, out_dim: int, pieces: int, wrap=lambda m: m, dropout: float = 0.0):
        super().__init__()
        self.linear = wrap(nn.Linear(in_dim, out_dim * pieces))
        self.pieces, self.dropout = pieces, dropout

    def forward(self, x: Tensor) -> Tensor:
        x = F.dropout(x, self.dropout, self.training)
        return self.linear(x).unflatten(1, (-1, self.pieces)).amax(2)  # [B, out, pieces] -> [B, out]


class MLPGenerator(nn.Module):
    """z [B, latent] (+ class embedding) -> points [B, out_dim], or images [B, *image_shape] in [-1, 1] (tanh)
    when ``image_shape`` is given; batch norm in the hidden layers optional (PacGAN's toy generator has it)."""

    def __init__(
        self,
        latent_dim: int,
        out_dim: int = 2,
        hidden: int = 128,
        depth: int = 3,
        num_classes: int = 0,
        batch_norm: bool = False,
        image_shape: tuple[int, ...] = (),
    ):
        super().__init__()
        self.condition = LabelConcat(latent_dim, num_classes)
        self.net = mlp(self.condition.out_dim, hidden, depth, out_dim, batch_norm=batch_norm)
        if image_shape:
            self.net.extend([nn.Tanh(), nn.Unflatten(1, image_shape)])

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(self.condition(z, labels))


class MLPCritic(nn.Module):
    """points [B, in_dim] or images (flattened) (+ projection of class embeddings) -> logit [B]; no normalization
    layers. ``maxout`` > 1: every hidden layer is a maxout layer with that many pieces (PacGAN's toy critic and
    Goodfellow et al.'s MNIST discriminator: 5), with ``dropout`` on the input of every layer, as they train it."""

    def __init__(
        self,
        in_dim: int = 2,
        hidden: int = 128,
        depth: int = 3,
        spectral: bool = False,
        num_classes: int = 0,
        maxout: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        wrap = spectral_wrap(spectral)
        self.dropout = dropout
        if maxout > 1:
            self.features = nn.Sequential(
                *(Maxout(in_dim if i == 0 else hidden, hidden, maxout, wrap, dropout) for i in range(depth))
            )
        else:
            self.features = nn.Sequential(
                mlp(in_dim, hidden, depth - 1, hidden, nn.LeakyReLU, spectral), nn.LeakyReLU(0.2)
            )
        self.head = ProjectionHead(hidden, num_classes, wrap)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        h = F.dropout(self.features(x.flatten(1)), self.dropout, self.training)
        return self.head(h, labels)
