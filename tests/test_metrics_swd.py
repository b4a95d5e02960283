"""The sliced Wasserstein distance on Laplacian-pyramid patches (genlab.metrics.swd): known answers of its steps,
and what it must see on real digits."""

from __future__ import annotations

import pytest
import torch

from genlab.data import load_dataset, to_float
from genlab.errors import GenlabError
from genlab.metrics.swd import (
    PATCH,
    laplacian_pyramid,
    pyramid_sizes,
    pyramid_up,
    random_patches,
    sliced_wasserstein,
    swd,
    wasserstein_1d,
)
from genlab.ops.augment import add_noise, contrast, gaussian_blur


@pytest.fixture(scope="module")
def digits():
    """400 MNIST test digits and 400 others of the training set, as floats in [0, 1]."""
    test = to_float(load_dataset("mnist", "test").images[:400])
    train = to_float(load_dataset("mnist", "train").images[:400])
    return test, train


def small_swd(real, fake):
    return swd(real, fake, per_image=16, projections=128)["swd"]


def test_the_1d_wasserstein_step_matches_sorted_samples():
    a = torch.tensor([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    b = torch.tensor([[5.0, 0.0], [3.0, 4.0], [4.0, 1.0]])
    # column 0: sorted 0,1,2 against 3,4,5 -> 3 each; column 1: 1,1,1 against 0,1,4 -> (1 + 0 + 3) / 3
    assert wasserstein_1d(a, b).tolist() == pytest.approx([3.0, 4 / 3])
    with pytest.raises(GenlabError, match="equal size"):
        wasserstein_1d(a, b[:2])


def test_sliced_wasserstein_of_a_shift_in_one_dimension_is_the_shift():
    a = torch.randn(1000, 1, generator=torch.Generator().manual_seed(0))
    assert sliced_wasserstein(a, a + 2.0, projections=8) == pytest.approx(2.0, rel=1e-5)
    assert sliced_wasserstein(a, a, projections=8) == 0.0


def test_pyramid_levels_follow_the_size():
    assert pyramid_sizes(16) == [16] and pyramid_sizes(28) == [28, 14] and pyramid_sizes(64) == [64, 32, 16]
    assert pyramid_sizes(1024)[-1] == 16 and len(pyramid_sizes(1024)) == 7  # Karras et al.'s 1024 -> 16 px
    with pytest.raises(GenlabError, match="at least 16 px"):
        pyramid_sizes(15)


def test_the_laplacian_pyramid_collapses_back_to_the_image():
    images = torch.rand(3, 2, 29, 29, generator=torch.Generator().manual_seed(0))
    levels = laplacian_pyramid(images, 3)
    assert [level.shape[-1] for level in levels] == [29, 15, 8]
    collapsed = levels[-1]
    for detail in reversed(levels[:-1]):
        collapsed = detail + pyramid_up(collapsed, detail.shape[-2:])
    assert torch.allclose(collapsed, images, atol=1e-5)


def test_patches_are_whole_neighbourhoods_of_one_image():
    rows, cols = torch.meshgrid(torch.arange(20.0), torch.arange(20.0), indexing="ij")
    position = 10_000 * torch.arange(4.0).view(4, 1, 1) + 100 * rows + cols  # image, row and column in one number
    level = torch.stack([position, -position], dim=1)  # [4, 2, 20, 20]
    patches = random_patches(level, 5, torch.Generator().manual_seed(0))
    assert patches.shape == (20, PATCH * PATCH, 2) and torch.equal(patches[..., 1], -patches[..., 0])
    grid = patches[..., 0].view(20, PATCH, PATCH)
    corner = grid[:, :1, :1]
    steps = 100 * torch.arange(float(PATCH)).view(PATCH, 1) + torch.arange(float(PATCH))
    assert torch.equal(grid - corner, steps.expand(20, PATCH, PATCH))  # a contiguous 7x7 block ...
    assert torch.equal(corner.flatten() // 10_000, torch.arange(20.0) // 5)  # ... of each image in turn


def test_swd_is_seeded_and_near_zero_for_a_set_against_itself(digits):
    test, train = digits
    itself = swd(test, test, per_image=16, projections=128)
    assert itself == swd(test, test, per_image=16, projections=128)
    assert set(itself["swd_levels"]) == {"28", "14"} and itself["levels"] == [28, 14]
    assert itself["descriptors"] == 400 * 16 and itself["patches_per_image"] == [16, 16]
    assert itself["real_images"] == itself["generated_images"] == 400
    brighter = small_swd(test, (test + 0.2).clamp(0, 1))  # every value shifted
    assert itself["swd"] < 0.2 * min(brighter, small_swd(test, gaussian_blur(test, 1.0)))


def test_swd_grows_with_noise_blur_and_lost_contrast(digits):
    test, train = digits
    gen = torch.Generator().manual_seed(1)
    clean = small_swd(train, test)
    noisy = [small_swd(train, add_noise(test, s, gen)) for s in (0.1, 0.2, 0.3)]
    blurred = [small_swd(train, gaussian_blur(test, s)) for s in (1.0, 2.0)]
    flat = [small_swd(train, contrast(test, s, (1 - s) / 2)) for s in (0.75, 0.5)]
    for ladder in (noisy, blurred, flat):
        assert clean < ladder[0] and ladder == sorted(ladder)


def test_swd_scores_color_images_and_refuses_unlike_shapes():
    gen = torch.Generator().manual_seed(0)
    photos = torch.rand(20, 3, 16, 16, generator=gen)
    result = swd(photos, photos.flip(-1), per_image=4, projections=16)
    assert result["levels"] == [16] and result["swd"] >= 0
    with pytest.raises(GenlabError, match="one shape"):
        swd(photos, photos[:, :1], per_image=4, projections=16)
    with pytest.raises(GenlabError, match="empty"):
        swd(photos, [], per_image=4, projections=16)
