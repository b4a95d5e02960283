"""Feature-based sample quality with known answers: FID, KID, IS analogue, precision/recall, density/coverage."""

from __future__ import annotations

import math

import pytest
import scipy.linalg
import torch

from genlab.errors import GenlabError
from genlab.metrics import (
    classifier_score,
    density_coverage,
    fid,
    frechet_distance,
    gaussian_stats,
    kid,
    precision_recall,
)


def gaussian(n: int, dims: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    """n standard normal rows in `dims` dimensions, shifted by `shift` in every coordinate."""
    return torch.randn(n, dims, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + shift


def column(*values: float) -> torch.Tensor:
    """1-D points as an [N, 1] feature tensor."""
    return torch.tensor(values, dtype=torch.float64).unsqueeze(1)


def random_spd(dims: int, seed: int) -> torch.Tensor:
    """A random full (non-diagonal) positive definite matrix."""
    a = torch.randn(dims, dims, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return a @ a.T + 0.1 * torch.eye(dims, dtype=torch.float64)


# ---------------------------------------------------------------- FID


def test_gaussian_stats_match_torch_mean_and_cov():
    x = gaussian(300, 5, seed=1) * torch.arange(1.0, 6.0, dtype=torch.float64)
    mean, cov = gaussian_stats(x.float())
    assert mean.dtype == cov.dtype == torch.float64 and cov.shape == (5, 5)
    assert torch.allclose(mean, x.mean(0), atol=1e-6)
    assert torch.allclose(cov, torch.cov(x.T), rtol=1e-5, atol=1e-6)


def diagonal_closed_form(mu1, var1, mu2, var2) -> float:
    """||dmu||^2 + sum(v1 + v2 - 2 sqrt(v1 v2)) for diagonal covariances."""
    return float((mu1 - mu2).pow(2).sum() + (var1 + var2 - 2 * (var1 * var2).sqrt()).sum())


def test_frechet_distance_matches_diagonal_closed_form():
    mu1, mu2 = torch.zeros(8, dtype=torch.float64), torch.linspace(-1, 2, 8, dtype=torch.float64)
    var1, var2 = torch.linspace(0.5, 2, 8, dtype=torch.float64), torch.linspace(3, 0.2, 8, dtype=torch.float64)
    expected = diagonal_closed_form(mu1, var1, mu2, var2)
    assert frechet_distance(mu1, var1.diag(), mu2, var2.diag()) == pytest.approx(expected, rel=1e-6)


def test_fid_on_samples_approaches_closed_form():
    dims, n = 8, 20_000
    mu2 = torch.linspace(0, 1, dims, dtype=torch.float64)
    std1, std2 = torch.full((dims,), 1.0, dtype=torch.float64), torch.linspace(0.5, 1.5, dims, dtype=torch.float64)
    real = gaussian(n, dims, seed=2) * std1
    fake = gaussian(n, dims, seed=3) * std2 + mu2
    expected = diagonal_closed_form(torch.zeros(dims, dtype=torch.float64), std1**2, mu2, std2**2)
    result = fid(real.float(), fake.float())
    assert result["fid"] == pytest.approx(expected, rel=0.02)
    assert (result["real"], result["fake"], result["dims"]) == (n, n, dims) and "warning" not in result


def test_fid_of_a_set_with_itself_is_zero_and_fid_is_symmetric():
    a, b = gaussian(500, 16, seed=4), gaussian(400, 16, seed=5, shift=0.3)
    assert fid(a, a)["fid"] == pytest.approx(0.0, abs=1e-8)
    assert fid(a, b)["fid"] == pytest.approx(fid(b, a)["fid"], rel=1e-9)
    assert fid(a, b)["fid"] > 16 * 0.3**2 * 0.5


def test_frechet_distance_with_full_covariances_matches_scipy_sqrtm():
    s1, s2 = random_spd(6, seed=6), random_spd(6, seed=7)
    assert not torch.allclose(s1 @ s2, s2 @ s1)  # the product is not symmetric: no shortcut applies
    mu1, mu2 = torch.arange(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64)
    covmean = scipy.linalg.sqrtm((s1 @ s2).numpy())
    expected = float((mu1 - mu2).pow(2).sum() + s1.trace() + s2.trace() - 2 * covmean.trace().real)
    value = frechet_distance(mu1, s1, mu2, s2)
    assert isinstance(value, float) and value == pytest.approx(expected, rel=1e-8)


def test_singular_covariance_gives_finite_exact_value():
    v = torch.tensor([[1.0, 2.0, 0.0, -1.0, 0.5]], dtype=torch.float64)
    singular = v.T @ v  # rank 1
    mu1, mu2 = torch.zeros(5, dtype=torch.float64), torch.full((5,), 0.5, dtype=torch.float64)
    value = frechet_distance(mu1, singular, mu2, singular)
    assert math.isfinite(value) and value == pytest.approx(5 * 0.25, rel=1e-6)
    assert math.isfinite(frechet_distance(mu1, singular, mu2, torch.zeros(5, 5, dtype=torch.float64)))


def test_fid_warns_when_covariance_is_rank_deficient_and_refuses_single_samples():
    few = gaussian(10, 32, seed=8)
    result = fid(few, gaussian(12, 32, seed=9))
    assert "rank-deficient" in result["warning"] and math.isfinite(result["fid"])
    assert fid(few, few)["fid"] == pytest.approx(0.0, abs=1e-6)  # singular covariances, no NaN, no negative
    with pytest.raises(GenlabError, match="at least 2"):
        fid(gaussian(1, 4, seed=0), gaussian(10, 4, seed=1))
    with pytest.raises(GenlabError, match="dimension"):
        fid(gaussian(10, 4, seed=0), gaussian(10, 5, seed=1))


# ---------------------------------------------------------------- KID


def test_kid_hand_computed_on_two_points():
    # d = 1, k(a, b) = (ab + 1)^3. real {0, 1}: k(0,1) = 1; fake {1, 2}: k(1,2) = 27;
    # cross: k(0,1) = 1, k(0,2) = 1, k(1,1) = 8, k(1,2) = 27 -> mean 37/4.
    # MMD^2_u = 1 + 27 - 2 * 37/4 = 9.5, the same for every subset (each subset is the whole set).
    result = kid(column(0, 1), column(1, 2), subsets=3)
    assert result["kid"] == pytest.approx(9.5, rel=1e-12) and result["kid_std"] == pytest.approx(0, abs=1e-12)
    assert result["subset_size"] == 2 and result["subsets"] == 3


def test_kid_is_near_zero_for_one_distribution_and_positive_for_shifted():
    real, same, shifted = gaussian(600, 16, seed=10), gaussian(600, 16, seed=11), gaussian(600, 16, 12, 0.5)
    null = kid(real, same, subsets=20, subset_size=200)
    assert abs(null["kid"]) < 2 * null["kid_std"]
    alt = kid(real, shifted, subsets=20, subset_size=200)
    assert alt["kid"] > 10 * alt["kid_std"] and alt["kid"] > 20 * abs(null["kid"])


def test_kid_is_reproducible_with_a_seed_and_clamps_subset_size():
    real, fake = gaussian(120, 4, seed=13), gaussian(80, 4, seed=14)
    first = kid(real, fake, subsets=5, subset_size=50, seed=3)
    assert first == kid(real, fake, subsets=5, subset_size=50, seed=3)
    assert first["kid"] != kid(real, fake, subsets=5, subset_size=50, seed=4)["kid"]
    assert kid(real, fake, subsets=2)["subset_size"] == 80
    with pytest.raises(GenlabError, match="at least 2"):
        kid(real, fake[:1])


# ---------------------------------------------------------------- classifier (Inception) score


def test_confident_predictions_spread_over_classes_give_score_equal_to_class_count():
    classes = 10
    logits = 100.0 * torch.nn.functional.one_hot(torch.arange(1000) % classes, classes).double()
    result = classifier_score(logits, splits=10)
    assert result["is"] == pytest.approx(classes, rel=1e-9) and result["is_std"] == pytest.approx(0, abs=1e-9)


def test_identical_predictions_give_score_one():
    logits = torch.randn(1, 7, generator=torch.Generator().manual_seed(15)).expand(500, 7)
    assert classifier_score(logits, splits=5)["is"] == pytest.approx(1.0, abs=1e-9)


def test_classifier_score_hand_computed_with_zero_probabilities():
    # p1 = (1/2, 1/2), p2 = (1, 0); p(y) = (3/4, 1/4).
    # KL1 = 1/2 log(2/3) + 1/2 log 2; KL2 = log(4/3) (the 0 * log 0 term is 0).
    probs = torch.tensor([[0.5, 0.5], [1.0, 0.0]], dtype=torch.float64)
    expected = math.exp((0.5 * math.log(2 / 3) + 0.5 * math.log(2) + math.log(4 / 3)) / 2)
    assert classifier_score(probs.log(), splits=1)["is"] == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- precision / recall, density / coverage
# Hand-checked 1-D sets, k = 1:
#   real {0, 1, 3}: radii r(0) = 1, r(1) = 1, r(3) = 2
#   fake {4, 5, 6, 10}: radii r(4) = 1, r(5) = 1, r(6) = 1, r(10) = 4
REAL, FAKE = column(0, 1, 3), column(4, 5, 6, 10)


def test_precision_recall_hand_computed_with_a_point_on_the_radius():
    # precision: 4 is within r(3) (|4-3| = 1 <= 2); 5 lies exactly on it (|5-3| = 2 <= 2, counts with <=);
    #            6 (3 > 2) and 10 are out -> 2/4.
    # recall: 0 (|0-4| = 4 > 1, |0-10| = 10 > 4) and 1 are out; 3 lies exactly on r(4) = 1 -> 1/3.
    result = precision_recall(REAL, FAKE, k=1)
    assert result["precision"] == pytest.approx(0.5) and result["recall"] == pytest.approx(1 / 3)


def test_density_coverage_hand_computed_with_strict_membership():
    # k = 1, real radii 1, 1, 2, strict <: fake 4 is in ball(3) (1 < 2); 5 is on its edge (2 < 2 false);
    # density = 1 / (1 * 4); coverage: only real 3 has a fake strictly inside its radius -> 1/3.
    result = density_coverage(REAL, FAKE, k=1)
    assert result["density"] == pytest.approx(0.25) and result["coverage"] == pytest.approx(1 / 3)
    # k = 2, real radii r(0) = 3, r(1) = 2, r(3) = 3: fake 4 in ball(3) (1 < 3), 5 in ball(3) (2 < 3),
    # 6 on the edge of ball(3) (3 < 3 false), 10 nowhere -> density = 2 / (2 * 4); coverage: real 3 only.
    result = density_coverage(REAL, FAKE, k=2)
    assert result["density"] == pytest.approx(0.25) and result["coverage"] == pytest.approx(1 / 3)


def test_density_counts_every_real_ball_and_can_exceed_one():
    # Unit-square corners, k = 2: each corner's neighbours are at 1, 1, sqrt(2) -> radius 1.
    # The centre is sqrt(1/2) < 1 from all four corners: density = 4 / (2 * 1) = 2, coverage = 1.
    corners = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    result = density_coverage(corners, torch.tensor([[0.5, 0.5]], dtype=torch.float64), k=2)
    assert result["density"] == pytest.approx(2.0) and result["coverage"] == pytest.approx(1.0)


def test_identical_sets_are_perfect_and_far_sets_score_zero():
    real = gaussian(200, 6, seed=16)
    pr, dc = precision_recall(real, real.clone()), density_coverage(real, real.clone())
    assert pr["precision"] == pr["recall"] == 1.0 and dc["coverage"] == 1.0
    far = real + 1000.0
    pr, dc = precision_recall(real, far), density_coverage(real, far)
    assert pr["precision"] == pr["recall"] == dc["density"] == dc["coverage"] == 0.0


def test_duplicate_points_still_exclude_only_self():
    # real {0, 0, 5, 6}, k = 1: the duplicate at 0 is a neighbour at distance 0 -> radius 0 for both zeros,
    # so a fake at 0 is within (<=) them but not strictly (<). Precision of fake {0, 0.1}: only 0 -> 1/2.
    # Fake {0, 5.5}: 0 is strictly in no ball; 5.5 is in ball(5) and ball(6) (0.5 < 1) -> density 2 / (1 * 2),
    # coverage: reals 5 and 6 -> 2/4.
    real, fake = column(0, 0, 5, 6), column(0, 5.5)
    assert precision_recall(real, column(0, 0.1), k=1)["precision"] == pytest.approx(0.5)
    result = density_coverage(real, fake, k=1)
    assert result["coverage"] == pytest.approx(0.5) and result["density"] == pytest.approx(2 / 2)


def test_chunking_gives_the_same_answers():
    real, fake = gaussian(53, 3, seed=17), gaussian(41, 3, seed=18, shift=0.4)
    assert precision_recall(real, fake, chunk=7) == precision_recall(real, fake)
    assert density_coverage(real, fake, chunk=5) == density_coverage(real, fake)
    assert precision_recall(real, fake, chunk=1) == precision_recall(real, fake, chunk=1000)


def test_k_needs_more_samples_than_neighbours():
    with pytest.raises(GenlabError, match="k-NN"):
        precision_recall(column(0, 1, 2), column(0, 1, 2), k=3)
