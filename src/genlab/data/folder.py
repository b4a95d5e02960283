"""Any folder of images: recursive, subfolder names as class labels, hostile files skipped and counted."""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from ..devices import check_fits, fits
from ..errors import GenlabError
from .cache import CACHE_FOLDER, Cached, NoCacheLocation, folder_cache, split_images
from .images import ImageData, to_float, to_gray
from .spec import DatasetSpec, LoadOptions, register_dataset
from .streaming import check_stream, gather, map_images

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
_REPORTED: set[tuple[str, ...]] = set()  # (folder, its bad files) already reported by this process
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
# Sizes a folder trains at automatically: ones every image network takes -- a DCGAN's 4-8 px start doubled
# (nn/dcgan.py upsampling_plan) and multiples of 4 (the ResNet generator) -- up to 64 px, the size larger
# images always trained at; model.image_size picks any other.
AUTO_SIZES = (8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64)
DEFAULT_FOLDER_SIZE = 64  # images of mixed sizes train at this size
_SAID: set[str] = set()


def image_files(root: Path) -> list[Path]:
    """Image files below ``root`` (by extension, none in a cache folder), sorted for a reproducible order."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in EXTENSIONS and CACHE_FOLDER not in p.relative_to(root).parts and p.is_file()
    )


def read_image(path: Path, size: int) -> tuple[np.ndarray, bool]:
    """One file -> (uint8 RGB array [size, size, 3] resized and center-cropped, whether it has color)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as img:
            img.seek(0)  # first frame of animations
            img = ImageOps.exif_transpose(img)
            color = img.mode not in GRAY_MODES
            img = ImageOps.fit(_to_rgb(img), (size, size), Image.Resampling.LANCZOS)
            return np.asarray(img, dtype=np.uint8), color


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB from any mode: 16-bit scaled to 8 bits, transparency composited on white."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(img, dtype=np.float64)
        scale = 255.0 / 65535.0 if arr.max() > 255 else 1.0
        img = Image.fromarray(np.clip(arr * scale, 0, 255).astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB")


def native_size(path: str, default: int) -> int:
    """The size a folder trains at when model.image_size is auto: its images' common size (the side of their
    square center crop) rounded by ``network_size``, else ``default``; one line on stderr says which."""
    root = Path(path).expanduser()
    sizes = sorted(
        {s for s in map(header_size, image_files(root) if root.is_dir() else []) if s}, key=lambda s: (s[0] * s[1], s)
    )
    if not sizes:
        return default  # load_folder says why
    shapes = [f"{w}x{h}" for w, h in sizes]
    if len(sizes) > 1:
        size, said = (
            default,
            (
                f"images have {len(sizes)} different sizes ({shapes[0]} to {shapes[-1]}); "
                f"training at {default} px, the default for mixed sizes"
            ),
        )
    else:
        side = min(sizes[0])
        size = network_size(side)
        why = (
            ""
            if size == side
            else (", the largest automatic size" if side > AUTO_SIZES[-1] else ", the nearest size every network takes")
        )
        said = f"images are {shapes[0]}; training at {size} px{why}"
    say_once(f"genlab: folder:{root}: {said} (set model.image_size to change it)")
    return size


def network_size(side: int) -> int:
    """The nearest of ``AUTO_SIZES`` (the larger on a tie): sizes every image network takes."""
    return min(AUTO_SIZES, key=lambda s: (abs(s - side), -s))


def header_size(path: Path) -> tuple[int, int] | None:
    """An image file's (width, height) from its header, pixels not decoded; None when it cannot be opened."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                return img.size
    except Exception:
        return None


def say_once(line: str) -> None:
    """Print an informational line on stderr once per process (train and test splits read the same folder)."""
    if line not in _SAID:
        _SAID.add(line)
        print(line, file=sys.stderr)


def folder_root(path: str) -> Path:
    """The folder ``path`` names; one clear line when it is a file or missing."""
    root = Path(path).expanduser()
    if root.is_file():
        raise GenlabError(f"image folder {root} is a file, not a folder: name the folder that holds the images")
    if not root.is_dir():
        raise GenlabError(f"image folder {root} does not exist")
    return root


def load_folder(path: str, size: int, channels: int = 0) -> ImageData:
    """All readable images below ``path``, decoded into memory; channels 0 = gray if every image is gray, else
    RGB. (data.stream=never; otherwise folders are read through their cache: ``load_folder_split``.)"""
    root = folder_root(path)
    files = image_files(root)
    check_fits(
        2 * len(files) * 3 * size**2,
        f"{len(files)} images of {size}x{size} pixels",
        "lower model.image_size or train on fewer images",
    )
    arrays, labels, colors, bad = [], [], [], []
    classes = sorted({_class_of(root, f) for f in files})
    for f in files:
        try:
            arr, color = read_image(f, size)
        except Exception as e:
            bad.append((f, type(e).__name__))
            continue
        arrays.append(arr)
        colors.append(color)
        labels.append(classes.index(_class_of(root, f)))
    if not arrays:
        raise GenlabError(f"no readable images in {root} ({len(files)} candidate files, {len(bad)} unreadable)")
    report_skipped(root, bad)
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    channels = channels or (3 if any(colors) else 1)
    images = to_gray(images) if channels == 1 else images
    return ImageData(images, torch.tensor(labels, dtype=torch.long), classes, f"folder:{root}")


def report_skipped(root: Path, bad: list[tuple[Path, str]]) -> None:
    """One line naming the unreadable files of a folder (the first three, with why), once per process for the
    same files: the train and test splits read the same folder."""
    key = (str(root), *(str(f) for f, _ in bad))
    if not bad or key in _REPORTED:
        return
    _REPORTED.add(key)
    named = ", ".join(f"{_relative(root, f)} ({why})" for f, why in bad[:3])
    more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
    print(f"genlab: skipped {len(bad)} unreadable file(s) in {root}: {named}{more}", file=sys.stderr)


def _relative(root: Path, file: Path) -> Path:
    return file.relative_to(root) if file.is_relative_to(root) else file


def _class_of(root: Path, file: Path) -> str:
    """Top-level subfolder name, or '.' for files directly in ``root``."""
    rel = file.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else "."


def load_image_set(path: str | Path) -> ImageData:
    """Every image of a folder as one set to score (``genlab eval SAMPLES --reference REF``): all of one size
    (non-square ones center-cropped to their short side), gray when every one is; an empty folder, an unreadable
    file or mixed sizes is one clear line, not a skipped file."""
    root = Path(path).expanduser()
    files = image_files(root) if root.is_dir() else []
    if not files:
        raise GenlabError(f"{root} holds no image files ({', '.join(sorted(EXTENSIONS))})")
    sizes = {f: header_size(f) for f in files}
    _refuse_unreadable(root, [f for f, size in sizes.items() if size is None])
    shapes = sorted({f"{w}x{h}" for w, h in sizes.values()})
    if len(shapes) > 1:
        raise GenlabError(f"{root} holds images of {len(shapes)} sizes ({', '.join(shapes[:3])}); score one size")
    side = min(next(iter(sizes.values())))
    check_fits(len(files) * 3 * side**2, f"{len(files)} images of {side}x{side} pixels", "score fewer images")
    read: list[tuple[np.ndarray, bool]] = []
    for f in files:
        try:
            read.append(read_image(f, side))
        except Exception:
            _refuse_unreadable(root, [f])
    images = torch.from_numpy(np.stack([a for a, _ in read])).permute(0, 3, 1, 2).contiguous()
    images = images if any(color for _, color in read) else to_gray(images)
    return ImageData(images, torch.zeros(len(files), dtype=torch.long), ["."], f"folder:{root}")


def _refuse_unreadable(root: Path, files: list[Path]) -> None:
    """One line naming unreadable files (the first three), when there are any."""
    if files:
        named = ", ".join(str(_relative(root, f)) for f in files[:3])
        raise GenlabError(f"cannot read {len(files)} image file(s) in {root}: {named}; remove or replace them")


def read_images(paths: list[str], size: int, channels: int) -> torch.Tensor:
    """Explicitly named image files -> float [N, C, size, size] in [0, 1]; a bad file is an error."""
    arrays = []
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise GenlabError(f"image {path} does not exist")
        try:
            arrays.append(read_image(path, size)[0])
        except Exception as e:
            raise GenlabError(f"cannot read image {path}: {type(e).__name__}: {e}") from None
    return stack_images(arrays, channels)


def stack_images(arrays: list[np.ndarray], channels: int) -> torch.Tensor:
    """``read_image`` arrays -> float [N, C, H, W] in [0, 1] with ``channels`` (1: luma) channels."""
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return to_float(to_gray(images) if channels == 1 else images)


def hold_out(data: ImageData, split: str, fraction: float, seed: int) -> ImageData:
    """A seeded hold-out split of data without an official test set: ``fraction`` of it is ``test``."""
    if split not in ("train", "test"):
        raise GenlabError(f"folder datasets have splits train and test, not {split!r}")
    return data.take(hold_out_index(len(data), split, fraction, seed))


def hold_out_index(n: int, split: str, fraction: float, seed: int) -> torch.Tensor:
    """The indices of a hold-out split of ``n`` items: a seeded permutation, its first ``fraction`` ``test``."""
    n_test = int(round(n * fraction)) if n > 1 else 0
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[:n_test] if split == "test" else order[n_test:]


def load_folder_split(split: str, options: LoadOptions) -> ImageData:
    """``folder:PATH``: its images at the model's size (else their own, see ``native_size``), split by hold-out;
    decoded once into a cache on disk and read from it into memory, or streamed (data.stream, docs/data.md)."""
    check_stream(options.stream, options.workers)
    if split not in ("train", "test"):
        raise GenlabError(f"folder datasets have splits train and test, not {split!r}")
    path = options.argument
    size = options.image_size or native_size(path, DEFAULT_FOLDER_SIZE)
    root = folder_root(path)
    cached = None if options.stream == "never" else _cached(root, size, options)
    if cached is None:
        return hold_out(load_folder(path, size, options.channels), split, options.test_fraction, options.seed)
    index = hold_out_index(cached.shape[0], split, options.test_fraction, options.seed)
    labels = torch.tensor(cached.labels, dtype=torch.long)[index]
    nbytes = len(index) * math.prod(cached.shape[1:])
    if len(index) == 0 or (options.stream == "auto" and fits(2 * nbytes)):  # the margin check_fits keeps
        images = torch.from_numpy(gather(map_images(cached.images).numpy(), index.numpy()))
        return ImageData(images, labels, cached.classes, f"folder:{root}")
    n_test = len(hold_out_index(cached.shape[0], "test", options.test_fraction, options.seed))
    mapped = split_images(root, cached, f"split-{options.seed}-{n_test}-{split}", index)
    return ImageData(map_images(mapped), labels, cached.classes, f"folder:{root}", stream=mapped)


def _cached(root: Path, size: int, options: LoadOptions) -> Cached | None:
    """The folder's cache (built when missing); None -- said in one line -- when data.stream is auto, no cache
    can be written and the images fit in memory."""
    files = image_files(root)
    classes = sorted({_class_of(root, f) for f in files})
    number = {c: i for i, c in enumerate(classes)}
    labels = [number[_class_of(root, f)] for f in files]
    try:
        cached = folder_cache(root, files, labels, classes, size, options.channels, options.workers, read_image)
    except NoCacheLocation as e:
        if options.stream == "always" or not fits(2 * len(files) * 3 * size**2):
            raise
        say_once(f"genlab: {e} (decoding in memory instead)")
        return None
    report_skipped(root, [(root / f, why) for f, why in cached.skipped])
    return cached


register_dataset(
    DatasetSpec("folder", load_folder_split, ("train", "test"), "images", argument="PATH", path_argument=True)
)
