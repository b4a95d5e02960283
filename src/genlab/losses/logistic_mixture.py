"""Discretized mixture of logistics over 8-bit pixels (Salimans et al. 2017, PixelCNN++ Eq. 2), with the linear
dependence of each colour channel on the ones before it; the decoder likelihood of NVAE and VDVAE on RGB data."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .likelihood import LIKELIHOODS, Likelihood

BIN = 1 / 255  # half the width of one of the 256 bins on [-1, 1]
MIN_LOG_SCALE = -7.0


class DiscretizedLogisticMixture(Likelihood):
    """p(x) = sum_k pi_k prod_c [sigma((x_c + 1/255 - m_kc) / s_kc) - sigma((x_c - 1/255 - m_kc) / s_kc)] on
    pixels rescaled to [-1, 1], the edge bins open to +-infinity; m_kc = mu_kc + sum_{j<c} a_kcj x_j."""

    name = "logistic_mixture"
    discrete = True  # a probability mass on the 256 levels: no dequantization offset

    def __init__(self, components: int = 10):
        self.components = components

    def param_channels(self, channels: int) -> int:
        """Per component: a logit, C means, C log-scales and C(C-1)/2 channel coefficients."""
        return self.components * (1 + 2 * channels + channels * (channels - 1) // 2)

    def _split(self, params: Tensor, channels: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """logits [B, K, H, W]; means, log-scales [B, C, K, H, W]; coefficients [B, C(C-1)/2, K, H, W]."""
        b, _, h, w = params.shape
        k = self.components
        logits, rest = params[:, :k], params[:, k:].reshape(b, -1, k, h, w)
        means, log_scales, coeffs = rest.split([channels, channels, channels * (channels - 1) // 2], dim=1)
        return logits, means, log_scales.clamp_min(MIN_LOG_SCALE), torch.tanh(coeffs)

    @staticmethod
    def _coupled(means: Tensor, coeffs: Tensor, x: Tensor) -> Tensor:
        """m_kc = mu_kc + sum_{j<c} a_kcj x_j: each channel's means shifted by the channels before it."""
        shifted, pair = [means[:, 0]], 0
        for c in range(1, means.shape[1]):
            mean = means[:, c]
            for j in range(c):
                mean = mean + coeffs[:, pair] * x[:, j].unsqueeze(1)
                pair += 1
            shifted.append(mean)
        return torch.stack(shifted, dim=1)

    def log_prob(self, params: Tensor, x: Tensor) -> Tensor:
        """log P(x) per image, x in [0, 1] on the 256 levels."""
        x = (x * 2 - 1).float()
        logits, means, log_scales, coeffs = self._split(params.float(), x.shape[1])
        centered = x.unsqueeze(2) - self._coupled(means, coeffs, x)
        inv_scale = torch.exp(-log_scales)
        upper, lower = inv_scale * (centered + BIN), inv_scale * (centered - BIN)
        log_mass = torch.log((torch.sigmoid(upper) - torch.sigmoid(lower)).clamp_min(1e-12))
        middle = inv_scale * centered  # where the bin is too narrow to subtract: density times the bin's width
        log_density = middle - log_scales - 2 * F.softplus(middle) + torch.log(torch.tensor(2 * BIN))
        inner = torch.where(torch.sigmoid(upper) - torch.sigmoid(lower) > 1e-5, log_mass, log_density)
        edge = x.unsqueeze(2)
        per_channel = torch.where(
            edge < -0.999, upper - F.softplus(upper), torch.where(edge > 0.999, -F.softplus(lower), inner)
        )
        per_component = per_channel.sum(1) + F.log_softmax(logits, dim=1)
        return torch.logsumexp(per_component, dim=1).flatten(1).sum(1)

    def mean(self, params: Tensor) -> Tensor:
        """The mixture's mean image in [0, 1], channel by channel (later channels shifted by earlier means)."""
        channels = self._channels(params)
        logits, means, _, coeffs = self._split(params.float(), channels)
        weights = torch.softmax(logits, dim=1)
        x = torch.zeros(means.shape[0], channels, *means.shape[3:], device=params.device)
        for c in range(channels):  # the coupling of channel c needs the means of the channels before it
            x[:, c] = (weights * self._coupled(means, coeffs, x)[:, c]).sum(1)
        return ((x + 1) / 2).clamp(0, 1)

    def _channels(self, params: Tensor) -> int:
        """C from the number of parameter channels."""
        per_component = params.shape[1] // self.components
        return next(c for c in range(1, 9) if 1 + 2 * c + c * (c - 1) // 2 == per_component)


LIKELIHOODS.register("logistic_mixture", lambda std, mixtures=10, **_: DiscretizedLogisticMixture(mixtures))
