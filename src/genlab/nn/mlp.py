"""Multilayer perceptrons for 2-D toy data (generator and critic)."""
from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils import spectral_norm as sn

from .conditional import LabelConcat, ProjectionHead


def mlp(in_dim: int, hidden: int, depth: int, out_dim: int, act: type[nn.Module] = nn.ReLU,
        spectral: bool = False) -> nn.Sequential:
    """in -> [Linear(hidden), act] x depth -> Linear(out); optional spectral norm on every layer."""
    wrap = sn if spectral else (lambda m: m)
    layers: list[nn.Module] = []
    dim = in_dim
    for _ in range(depth):
        layers += [wrap(nn.Linear(dim, hidden)), act()]
        dim = hidden
    layers.append(wrap(nn.Linear(dim, out_dim)))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """z [B, latent] (+ class embedding) -> points [B, out_dim]."""

    def __init__(self, latent_dim: int, out_dim: int = 2, hidden: int = 128, depth: int = 3,
                 num_classes: int = 0):
        super().__init__()
        self.condition = LabelConcat(latent_dim, num_classes)
        self.net = mlp(self.condition.out_dim, hidden, depth, out_dim)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(self.condition(z, labels))


class MLPCritic(nn.Module):
    """points [B, in_dim] (+ projection of class embeddings) -> logit [B]; no normalization layers."""

    def __init__(self, in_dim: int = 2, hidden: int = 128, depth: int = 3, spectral: bool = False,
                 num_classes: int = 0):
        super().__init__()
        self.features = nn.Sequential(mlp(in_dim, hidden, depth - 1, hidden, nn.LeakyReLU, spectral),
                                      nn.LeakyReLU(0.2))
        self.head = ProjectionHead(hidden, num_classes, sn if spectral else (lambda m: m))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.head(self.features(x), labels)
