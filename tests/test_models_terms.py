"""Translator terms as parts (genlab.models.terms): a term registered from outside plugs into CycleGAN and UNIT
through their configs alone, the base translator knows no term, and the built-in terms keep their options flat."""

from __future__ import annotations

import ast
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor

from genlab.errors import GenlabError
from genlab.models import default_config, get_model_class
from genlab.models.terms import TERMS, Term, Translation
from genlab.testing import domain_batch, tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")
TRANSLATOR_SOURCE = Path(__file__).resolve().parents[1] / "src" / "genlab" / "models" / "translator.py"


@dataclass
class TowardInputConfig:
    toward_input_weight: float = 0.0  # weight of |G(x) - x|_1; 0 = off


class TowardInput(Term):
    """A toy term: an L1 pull of each translation toward its input, logged as "toward_input"."""

    Config = TowardInputConfig

    @classmethod
    def check(cls, config: Any) -> None:
        if config.toward_input_weight < 0:
            raise GenlabError("model.toward_input_weight must be >= 0")

    @classmethod
    def wanted(cls, config: Any) -> bool:
        return config.toward_input_weight > 0

    def names(self) -> tuple[str, ...]:
        return ("toward_input",)

    def forward(self, translation: Translation) -> dict[str, Tensor]:
        return {"toward_input": (translation.fake - translation.source).abs().mean()}

    def loss(self, values: dict[str, Tensor]) -> Tensor:
        return self.config.toward_input_weight * values["toward_input"]


@pytest.fixture
def toward_input():
    """The toy term, registered for one test."""
    TERMS.register("toward_input", TowardInput)
    yield TowardInput
    TERMS.unregister("toward_input")


def with_toy_options(name: str, weight: float):
    """A tiny ``name`` translator whose config also carries the toy term's options (weight ``weight``)."""
    _, config = tiny_model(name)
    options = dataclasses.make_dataclass("ToyConfig", [], bases=(type(config.model), TowardInputConfig))
    fields = {f.name: getattr(config.model, f.name) for f in dataclasses.fields(config.model)}
    torch.manual_seed(0)
    return get_model_class(name)(options(**fields, toward_input_weight=weight))


@pytest.mark.parametrize("name", ["cyclegan", "unit"])
def test_a_term_registered_outside_plugs_into_a_translator_through_its_config(name, toward_input):
    model = with_toy_options(name, 0.5)
    assert list(model.terms) == ["toward_input"] and isinstance(model.terms["toward_input"], toward_input)
    x, y = domain_batch(model)
    torch.manual_seed(1)
    out = model.loss((x, y), "g")
    sources, fakes = {"a2b": x[y == 0], "b2a": x[y == 1]}, model._fakes[1]
    expected = sum((fakes[d] - sources[d]).abs().mean() for d in ("a2b", "b2a"))
    assert torch.allclose(out["toward_input"], expected, atol=1e-6) and out["toward_input"] > 0
    model.config.toward_input_weight = 0.0  # the weight is read when the loss is: the same draws, without it
    torch.manual_seed(1)
    without = model.loss((x, y), "g")
    assert torch.allclose(out["loss"] - without["loss"], 0.5 * out["toward_input"], atol=1e-5)
    assert not with_toy_options(name, 0.0).terms  # off: not built
    plain, _ = tiny_model(name)
    assert "toward_input" not in plain.terms and "toward_input" not in plain.loss((x, y), "g")
    with pytest.raises(GenlabError, match="toward_input_weight"):
        with_toy_options(name, -1.0)


def defined_names(module_name: str) -> set[str]:
    """What a module defines at its top level: functions, classes and assigned names."""
    tree = ast.parse(Path(sys.modules[module_name].__file__).read_text())
    names = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    return names | {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def test_the_base_translator_module_names_no_term():
    """translator.py imports no term module and names no term: not its registered name, nothing its module
    defines (classes, functions, constants such as SEMANTIC_FIELDS), none of its options -- the interface of
    ``Term`` itself (style_dim) excepted."""
    tree = ast.parse(TRANSLATOR_SOURCE.read_text())
    words = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    words |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    words |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    words |= {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(m and m.startswith("terms.") for m in modules), modules
    assert len(TERMS) >= 3
    for name, term in TERMS.items():
        options = {f.name for f in dataclasses.fields(term.Config)}
        named = ({name, *options, *defined_names(term.__module__)} - set(dir(Term))) & words
        assert not named, f"translator.py names the {name!r} term: {sorted(named)}"


def test_the_built_in_terms_keep_their_options_flat_on_every_translator():
    for name, fields in (
        ("cyclegan", ("style_dim", "diversity_weight", "semantic_weight")),
        ("unit", ("style_dim", "diversity_weight", "semantic_classifier")),
        ("refiner", ("semantic_weight", "semantic_classifier_b")),
    ):
        config = default_config(name, "tiny")
        assert all(hasattr(config.model, field) for field in fields), name
    assert not hasattr(default_config("refiner").model, "style_dim")  # the refiner takes no style codes
    assert set(get_model_class("cyclegan").pretrained) == {"semantic_classifier", "semantic_classifier_b"}
