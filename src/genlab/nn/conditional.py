"""Class conditioning shared by generators and discriminators."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class LabelConcat(nn.Module):
    """z -> [z, embed(y)] for conditional generators (Mirza & Osindero 2014); identity when unconditional."""

    def __init__(self, latent_dim: int, num_classes: int):
        super().__init__()
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        self.out_dim = latent_dim * (2 if num_classes else 1)

    def forward(self, z: Tensor, labels: Tensor | None) -> Tensor:
        return z if self.embed is None else torch.cat([z, self.embed(labels)], dim=1)


class ProjectionHead(nn.Module):
    """logit = w.h + <embed(y), h> (projection discriminator, Miyato & Koyama 2018) on pooled features h."""

    def __init__(self, features: int, num_classes: int, wrap=lambda m: m):
        super().__init__()
        self.linear = wrap(nn.Linear(features, 1))
        self.embed = None
        if num_classes:
            embed = nn.Embedding(num_classes, features)
            bound = features**-0.5  # the scale of the linear head, not N(0, 1)
            nn.init.uniform_(embed.weight, -bound, bound)
            self.embed = wrap(embed)

    def forward(self, h: Tensor, labels: Tensor | None) -> Tensor:
        logit = self.linear(h).flatten()
        return logit if self.embed is None else logit + (self.embed(labels) * h).sum(1)
