"""Two small image domains on disk for the image-to-image tests."""
from __future__ import annotations

from PIL import Image, ImageDraw

from conftest import straight_and_resumed


def write_domains(root, n=16):
    """Domain A: dark gray squares; domain B: bright RGB circles (different sizes and channels)."""
    for domain in ("A", "B"):
        (root / domain / "sub").mkdir(parents=True)
    for i in range(n):
        img = Image.new("L", (40, 40), 20)
        ImageDraw.Draw(img).rectangle([8 + i % 5, 8, 28, 28 + i % 4], fill=90)
        img.save(root / "A" / ("sub" if i % 4 == 0 else "") / f"a{i}.png")
    for i in range(n // 2):
        img = Image.new("RGB", (48, 48), (230, 230, 200))
        ImageDraw.Draw(img).ellipse([10, 10 + i % 3, 38, 38], fill=(250, 120 + 10 * i, 40))
        img.save(root / "B" / f"b{i}.png")
    return root / "A", root / "B"


def trained_both_ways(model: str, settings: list[str], root):
    """Two domains under ``root`` and ``model`` trained on them (preset tiny) straight through, and stopped after 3
    steps then resumed: (domains, (straight run, split run, the training state at the stop))."""
    domains = write_domains(root / "domains")
    data = f"unpaired:{domains[0]},{domains[1]}"
    return domains, straight_and_resumed(model, data, "tiny", settings, root / model)
