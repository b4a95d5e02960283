"""GAN objectives on discriminator logits, and the gradient penalties (all from logits, no sigmoid)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import GenlabError
from ..ops import per_sample
from ..registry import Registry


class GANObjective:
    """A discriminator loss d(real_logits, fake_logits) and a generator loss g(fake_logits) (g(fake_logits,
    real_logits) when ``paired``), batch means."""

    name = ""
    probabilistic = True  # logits are log-odds of "real" (D(x) = sigmoid(logit) is meaningful)
    paired = False  # relativistic: each fake is judged against a real, so G's loss needs real logits too

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        """-E log D(x) - E log(1 - D(G(z))) (Goodfellow et al. 2014, Eq. 1), from logits."""
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def generator(self, fake: Tensor) -> Tensor:
        raise NotImplementedError


class Minimax(GANObjective):
    """Goodfellow et al. (2014) Eq. 1 as written: G minimizes E log(1 - D(G(z)))."""

    name = "minimax"

    def generator(self, fake: Tensor) -> Tensor:
        return -F.softplus(fake).mean()  # log(1 - sigmoid(f)) = -softplus(f)


class NonSaturating(GANObjective):
    """Goodfellow et al. (2014) Sec. 3: G maximizes E log D(G(z)) instead (strong early gradients)."""

    name = "nonsaturating"

    def generator(self, fake: Tensor) -> Tensor:
        return F.softplus(-fake).mean()


class LeastSquares(GANObjective):
    """LSGAN (Mao et al. 2017, Eq. 2 with a=0, b=c=1) on raw discriminator outputs."""

    name = "lsgan"
    probabilistic = False

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()

    def generator(self, fake: Tensor) -> Tensor:
        return 0.5 * ((fake - 1) ** 2).mean()


class Hinge(GANObjective):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): E relu(1 - D(x)) + E relu(1 + D(G(z)))."""

    name = "hinge"
    probabilistic = False

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def generator(self, fake: Tensor) -> Tensor:
        return -fake.mean()


class Wasserstein(GANObjective):
    """WGAN (Arjovsky et al. 2017): the critic maximizes E f(x) - E f(G(z)); needs clipping or a penalty."""

    name = "wgan"
    probabilistic = False

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return fake.mean() - real.mean()

    def generator(self, fake: Tensor) -> Tensor:
        return -fake.mean()


class WassersteinGP(Wasserstein):
    """WGAN-GP (Gulrajani et al. 2017): the Wasserstein critic with a gradient penalty (lambda=10)."""

    name = "wgan-gp"


class RelativisticPairing(GANObjective):
    """RpGAN (Jolicoeur-Martineau 2019; Huang et al. 2024, Sec. 2): f(D(G(z)) - D(x)) over pairs, f = softplus."""

    name = "rpgan"
    probabilistic = False  # only differences of logits mean something
    paired = True

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return F.softplus(fake - _paired(real, fake)).mean()

    def generator(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        if real is None:
            raise GenlabError("rpgan's generator loss pairs each fake with a real: it needs the real logits")
        return F.softplus(_paired(real, fake) - fake).mean()


def _paired(real: Tensor, fake: Tensor) -> Tensor:
    """``real`` after checking that it pairs one to one with ``fake`` (the i-th real with the i-th fake)."""
    if real.shape != fake.shape:
        raise GenlabError(f"rpgan pairs reals with fakes one to one; got {tuple(real.shape)} and {tuple(fake.shape)}")
    return real


OBJECTIVE_REGISTRY: Registry[type[GANObjective]] = Registry("GAN objective")
for _objective in (Minimax, NonSaturating, LeastSquares, Hinge, Wasserstein, WassersteinGP, RelativisticPairing):
    OBJECTIVE_REGISTRY.register(_objective.name, _objective)
OBJECTIVES = OBJECTIVE_REGISTRY.entries  # name -> class, read-only


def make_objective(name: str) -> GANObjective:
    """Objective by name: minimax | nonsaturating | lsgan | hinge | wgan | wgan-gp | rpgan (or a registered one)."""
    return OBJECTIVE_REGISTRY.get(name)()


def _squared_input_grad(critic: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """||d critic(x) / dx||^2 per sample over all non-batch dims, keeping the graph (double backward)."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1)


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """Gulrajani et al. (2017) Eq. 3: E (||grad D(x_hat)|| - 1)^2 at x_hat = a x + (1 - a) G(z), a ~ U[0,1]."""
    alpha = per_sample(
        lambda n: torch.rand(n, *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype), real.shape[0]
    )
    x_hat = alpha * real.detach() + (1 - alpha) * fake.detach()
    return ((torch.sqrt(_squared_input_grad(critic, x_hat) + 1e-12) - 1) ** 2).mean()


def r1_penalty(critic: Callable[[Tensor], Tensor], real: Tensor) -> Tensor:
    """Mescheder et al. (2018) R1: 1/2 E ||grad D(x)||^2 on real data."""
    return 0.5 * _squared_input_grad(critic, real).mean()


def r2_penalty(critic: Callable[[Tensor], Tensor], fake: Tensor) -> Tensor:
    """Mescheder et al. (2018) R2: 1/2 E ||grad D(G(z))||^2 on generated data (G's output detached)."""
    return 0.5 * _squared_input_grad(critic, fake).mean()
