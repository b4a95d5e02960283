"""A history of generated images for discriminator updates (Shrivastava et al. 2017, Sec. 2.3)."""

from __future__ import annotations

import torch
from torch import Tensor


class HistoryPool:
    """Up to ``capacity`` earlier generator outputs; D sees a mix of them and fresh ones, which damps
    oscillation. Two ways to mix, both storing and returning every fresh image as is until the pool is full:

    - ``query``: CycleGAN's (Zhu et al. 2017, Sec. 4, 50 images): once full, each fresh image is, with
      probability 1/2, swapped for a random stored one (which is returned and replaced), else returned as is;
    - ``query_half``: SimGAN's (Shrivastava et al. 2017, Sec. 2.3): once full, exactly half the batch comes
      from the pool and the drawn slots are refilled with this batch's other half.

    Draws come from torch's global CPU generator, which the training loop checkpoints; ``state()`` /
    ``load_state()`` carry the stored images through a resume.
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.images: Tensor | None = None  # [stored, C, H, W], stored <= capacity

    def __len__(self) -> int:
        return 0 if self.images is None else len(self.images)

    @torch.no_grad()
    def query(self, fresh: Tensor) -> Tensor:
        """The images D should judge in place of ``fresh`` (same shape); updates the pool."""
        fresh = self._match(fresh)
        if self.capacity <= 0 or not len(fresh):
            return fresh
        out = fresh.clone()
        coins = torch.rand(len(fresh)).tolist()
        slots = torch.randint(self.capacity, (len(fresh),)).tolist()
        for i in range(len(fresh)):
            if len(self) < self.capacity:
                self._append(fresh[i : i + 1])
            elif coins[i] < 0.5:
                out[i] = self.images[slots[i]]
                self.images[slots[i]] = fresh[i]
        return out

    @torch.no_grad()
    def query_half(self, fresh: Tensor) -> Tensor:
        """Shrivastava et al. (2017), Sec. 2.3: the first n - n//2 fresh images and n//2 stored ones drawn at
        random (without replacement); the drawn slots then hold the n//2 fresh images D did not see, so every
        output of the generator is judged once, now or later. Until the pool is full: fresh, stored as is."""
        fresh = self._match(fresh)
        if self.capacity <= 0 or not len(fresh):
            return fresh
        if len(self) < self.capacity:
            self._append(fresh[: self.capacity - len(self)])
            return fresh
        k = min(len(fresh) // 2, self.capacity)
        slots = torch.randperm(self.capacity)[:k].to(fresh.device)
        out = torch.cat([fresh[: len(fresh) - k], self.images[slots]])
        self.images[slots] = fresh[len(fresh) - k :]
        return out

    def _match(self, fresh: Tensor) -> Tensor:
        """``fresh`` detached; the stored images moved to its device and dtype (restored on the CPU, or
        produced under another precision)."""
        if self.images is not None:
            self.images = self.images.to(fresh.device, fresh.dtype)
        return fresh.detach()

    def _append(self, image: Tensor) -> None:
        self.images = image.clone() if self.images is None else torch.cat([self.images, image])

    def state(self) -> dict[str, Tensor]:
        """The stored images (on the CPU), for the training-state file."""
        return {} if self.images is None else {"images": self.images.cpu()}

    def load_state(self, state: dict[str, Tensor]) -> None:
        """Restore what ``state()`` returned (an empty dict empties the pool)."""
        images = state.get("images")
        self.images = None if images is None else images[: self.capacity].clone()
