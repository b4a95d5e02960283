"""Image datasets as uint8 tensors -- in memory, or mapped from a file on disk and streamed (streaming.py) --
batched without per-image Python work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import torch
from torch import Tensor

from ..devices import check_fits
from ..errors import GenlabError
from .streaming import Mapped, read_rows

BINARIZE_MODES = ("dynamic", "static", "none")


@dataclass
class ImageData:
    """Images [N, C, H, W] uint8 and integer labels [N]; lives on one device.

    ``class_labels`` / ``class_names`` are for data whose ``labels`` are something else: unpaired data is
    labelled by domain (0 = A, 1 = B) and keeps each image's class there (None when not applicable).

    Streamed data (``stream`` set) keeps ``images`` mapped from a file on the CPU, whatever ``to`` says: each
    batch goes to ``stream.device`` as ``batches`` reads it.
    """

    images: Tensor
    labels: Tensor
    classes: list[str] = field(default_factory=list)
    name: str = ""
    class_labels: Tensor | None = None
    class_names: list[str] = field(default_factory=list)
    stream: Mapped | None = None  # streamed data: the file ``images`` maps and the device its batches go to

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def is_points(self) -> bool:
        """True for low-dimensional point data (toy 2-D mixtures), float [N, D]."""
        return self.images.dim() == 2

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def image_size(self) -> int:
        return self.images.shape[-1]

    @property
    def device(self) -> torch.device:
        """Where its batches are: the images' device, or the one streamed batches go to."""
        return self.images.device if self.stream is None else self.stream.device

    def to(self, device: torch.device | str) -> ImageData:
        classes = None if self.class_labels is None else self.class_labels.to(device)
        if self.stream is not None:  # the images stay mapped; batches() moves each batch
            stream = replace(self.stream, device=torch.device(device))
            return replace(self, labels=self.labels.to(device), class_labels=classes, stream=stream)
        return replace(self, images=self.images.to(device), labels=self.labels.to(device), class_labels=classes)

    def take(self, index: Tensor | slice) -> ImageData:
        """A subset by index tensor or slice; of streamed data, a leading slice stays streamed and anything else
        is read into memory on its device."""
        classes = None if self.class_labels is None else self.class_labels[index]
        if self.stream is None:
            return replace(self, images=self.images[index], labels=self.labels[index], class_labels=classes)
        images = self.images[index.cpu() if isinstance(index, Tensor) else index]
        stream: Mapped | None = self.stream
        if not (images.data_ptr() == self.images.data_ptr() and images.is_contiguous()):
            images, stream = images.to(self.stream.device), None
        return replace(self, images=images, labels=self.labels[index], class_labels=classes, stream=stream)

    def head(self, n: int | None) -> ImageData:
        """The first n images (all when n is None)."""
        return self if n is None else self.take(slice(0, n))

    def binarized(self, seed: int) -> ImageData:
        """Stochastic binarization done once with a fixed seed (the IWAE test-set protocol)."""
        gen = torch.Generator(device="cpu").manual_seed(seed)
        probs = self.images.cpu().float() / 255
        bits = torch.bernoulli(probs, generator=gen).to(torch.uint8) * 255
        return replace(self, images=bits.to(self.device), stream=None)


def luma(images: Tensor) -> Tensor:
    """RGB [N, 3, H, W] -> float luma [N, 1, H, W] on the same scale (ITU-R 601 weights, as Pillow's 'L')."""
    weights = torch.tensor([0.299, 0.587, 0.114], device=images.device).view(1, 3, 1, 1)
    return (images.float() * weights).sum(1, keepdim=True)


def to_gray(images: Tensor) -> Tensor:
    """uint8 RGB [N, 3, H, W] -> uint8 luma [N, 1, H, W]."""
    return luma(images).round().clamp(0, 255).to(torch.uint8)


def to_float(images: Tensor) -> Tensor:
    """uint8 [0, 255] -> float32 [0, 1]; float data (points) passes through."""
    return images.float().div_(255) if images.dtype == torch.uint8 else images.float()


def to_uint8(images: Tensor) -> Tensor:
    """Floats in [0, 1] -> uint8 [0, 255] (clamped, rounded), as an 8-bit image file holds them."""
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


def check_binarize(mode: str) -> None:
    if mode not in BINARIZE_MODES:
        raise GenlabError(f"data.binarize must be one of {', '.join(BINARIZE_MODES)} (or auto), got {mode!r}")


def batches(
    data: ImageData,
    batch_size: int,
    *,
    binarize: str = "none",
    shuffle: bool = False,
    seed: int = 0,
    drop_last: bool = False,
    start: int = 0,
    generator: torch.Generator | None = None,
    shard: Callable[[Tensor], Tensor] | None = None,
    workers: int = 0,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield (x in [0, 1], labels) batches; ``dynamic`` resamples Bernoulli pixels each time.

    The order is a permutation seeded by ``seed``; ``start`` skips batches (mid-epoch resume);
    ``generator`` (on the data's device) drives dynamic binarization; ``shard`` picks this process's share
    of each batch's indices (data-parallel replicas). Streamed data gives the same batches, read from its file
    as they are needed (by ``workers`` threads ahead of use; 0: here, when needed).
    """
    n = len(data)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    if data.stream is not None:
        spans = [order[begin : begin + batch_size] for begin in range(start * batch_size, stop, batch_size)]
        yield from _streamed(data, spans, binarize, generator, shard, workers)
        return
    order = order.to(data.images.device)
    for begin in range(start * batch_size, stop, batch_size):
        idx = order[begin : begin + batch_size]
        x = to_float(data.images[idx])
        if binarize == "dynamic":  # on the whole batch, so every share gets the bits one process would draw
            x = torch.bernoulli(x, generator=generator)
        yield (x, data.labels[idx]) if shard is None else (shard(x), shard(data.labels[idx]))


def _streamed(
    data: ImageData,
    spans: list[Tensor],
    binarize: str,
    generator: torch.Generator | None,
    shard: Callable[[Tensor], Tensor] | None,
    workers: int,
) -> Iterator[tuple[Tensor, Tensor]]:
    """``batches`` of streamed data: each span's images read from the file and moved to the data's device.
    A replica reads only its share of each batch, except under dynamic binarization, which draws on the
    whole batch (as ``batches`` does in memory)."""
    assert data.stream is not None
    device, whole = data.stream.device, shard is None or binarize == "dynamic"
    reads = read_rows(data.stream, data.images, spans if whole else [shard(s) for s in spans], workers)
    for idx, images in zip(spans, reads):
        x = to_float(images.to(device, non_blocking=True))
        if binarize == "dynamic":
            x = torch.bernoulli(x, generator=generator)
        y = data.labels[idx.to(data.labels.device)]
        yield (x, y) if shard is None else (shard(x) if whole else x, shard(y))


def resized(data: ImageData, image_size: int, channels: int) -> ImageData:
    """Resize/recolour a uint8 dataset when the model asks for another size or channel count."""
    images = data.images
    if image_size and image_size != data.image_size:
        check_fits(
            len(data) * images.shape[1] * (4 * data.image_size**2 + 5 * image_size**2),
            f"resizing {len(data)} images to {image_size}x{image_size}",
            "lower model.image_size",
        )
        images = torch.nn.functional.interpolate(
            images.float(), size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False
        )
        images = images.round().clamp(0, 255).to(torch.uint8)
    if channels and channels != images.shape[1]:
        images = images.expand(-1, channels, -1, -1).contiguous() if images.shape[1] == 1 else to_gray(images)
    if images is data.images:
        return replace(data)
    return replace(data, images=images.to(data.device), stream=None)  # streamed data is now in memory
