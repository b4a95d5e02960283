"""CyCADA's semantic consistency (issue 18): a frozen classifier of the source domain must read a translation as
the class it reads in the source image; the translators train with it, resume exactly and keep it frozen."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from genlab.apps.testing import run_cli
from genlab.data import load_dataset
from genlab.models.terms.semantic import consistency, frozen_classifier
from genlab.runs import load_config, load_run, load_weights, pretrained_config, shipped_file
from genlab.testing import run_weights
from genlab.testing.runs import trained_both_ways

pytestmark = pytest.mark.usefixtures("one_thread")
SEMANTIC = ["model.semantic_weight=1", "model.semantic_classifier=digits-v2", "model.semantic_classifier_b=digits-v2"]
SETTINGS = [
    "model.image_size=32",
    "train.batch_size=4",
    "train.epochs=2",
    "data.test_fraction=0.15",
    "train.eval_images=8",
    *SEMANTIC,
]


@pytest.fixture(scope="module")
def digits_v2():
    """The shipped digit network as a frozen semantic classifier, the way a translator builds and loads it."""
    classifier = frozen_classifier(pretrained_config("digits-v2").to_dict())
    load_weights(classifier, shipped_file("digits-v2"), "classifier")
    return classifier


@pytest.fixture(scope="module")
def read_digits(digits_v2):
    """64 MNIST test digits in [-1, 1] that digits-v2 reads correctly, and their labels."""
    test = load_dataset("mnist", "test")
    x = test.images[:80].float() / 127.5 - 1
    with torch.no_grad():
        right = digits_v2.logits((x + 1) / 2).argmax(1) == test.labels[:80]
    return x[right][:64], test.labels[:80][right][:64]


# the refiner's run in the fast tier; the two-way translators (the same term, bigger runs) in the slow one
@pytest.fixture(
    scope="module",
    params=[pytest.param("cyclegan", marks=pytest.mark.slow), pytest.param("unit", marks=pytest.mark.slow), "refiner"],
)
def runs(request, tmp_path_factory):
    """Each translator trained with the semantic term straight through, and stopped after 3 steps then resumed."""
    root = tmp_path_factory.mktemp(f"semantic-{request.param}")
    return trained_both_ways(request.param, SETTINGS, root)


def test_consistency_is_near_zero_for_the_identity_and_grows_when_a_class_flips(digits_v2, read_digits):
    x, labels = read_digits
    same = consistency(digits_v2, x, x)
    with torch.no_grad():
        floor = -torch.log_softmax(digits_v2.logits((x + 1) / 2), 1).max(1).values.mean()
    assert torch.allclose(same, floor, atol=1e-6) and same < 0.05  # only the classifier's own uncertainty
    flipped = x[torch.argsort(labels)].roll(32, 0)  # another image in the same place: most classes change
    changed = (labels[torch.argsort(labels)].roll(32, 0) != labels).float().mean()
    assert changed > 0.5 and consistency(digits_v2, x, flipped) > 10 * same + 2


def test_the_gradient_reaches_the_translation_and_never_the_classifier(digits_v2, read_digits):
    x = read_digits[0][:8]
    translated = x.clone().requires_grad_(True)
    consistency(digits_v2, x, translated.roll(1, 0)).backward()
    assert translated.grad is not None and translated.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in digits_v2.parameters())


def test_translators_train_with_a_frozen_classifier_and_resume_exactly(runs):
    straight, split, _ = runs[1]
    a, b = run_weights(straight), run_weights(split)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    shipped = load_file(str(shipped_file("digits-v2")))
    frozen = {k.split(".", 3)[3]: v for k, v in a.items() if k.startswith("terms.semantic.semantic_classifier.")}
    assert frozen.keys() == shipped.keys() and all(torch.equal(frozen[k], shipped[k].float()) for k in frozen)
    assert any(k.startswith("terms.semantic.semantic_classifier_b.") for k in a)  # the refiner's too, unused
    config = load_config(straight / "config.json")
    assert config.model.semantic_classifier_config["model_name"] == "classifier"
    model, _ = load_run(straight)
    model.train()
    classifier = model.terms["semantic"].semantic_classifier
    assert not classifier.training and not any(p.requires_grad for p in classifier.parameters())
    log = (straight / "metrics.jsonl").read_text()
    assert '"train/g/semantic"' in log


def test_semantic_options_fail_in_one_line(capsys, runs, tmp_path):
    data = f"unpaired:{runs[0][0]},{runs[0][1]}"
    for settings, message in (
        (["model.semantic_weight=1"], "needs model.semantic_classifier"),
        (["model.semantic_weight=-1"], "must be >= 0"),
        (["model.semantic_classifier=" + str(runs[1][0])], "must name a trained classifier"),
    ):
        sets = [a for s in settings + ["model.image_size=32"] for a in ("--set", s)]
        code, _, err = run_cli(
            capsys, "train", "cyclegan", "--data", data, "--preset", "tiny", *sets, "--out", tmp_path / "bad"
        )
        assert code == 2 and message in err and err.count("\n") == 1, err
