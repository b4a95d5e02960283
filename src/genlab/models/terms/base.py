"""Translator terms as parts: each extra generator term (a paper's feature: a semantic-consistency loss, style codes,
mode seeking) is one ``Term`` with its own options, state and loss, registered in ``TERMS`` and plugged into every
translator whose config carries its options (docs/extending.md, "Adding a translator term")."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor, nn

from ...registry import Registry


@dataclass
class Translation:
    """One direction of a translator's phase-g step, as its terms see it (images in [-1, 1])."""

    direction: str  # a2b or b2a
    source: Tensor  # images of the source domain
    fake: Tensor  # their translation into the target domain
    target: int  # the target domain: 0 = A, 1 = B
    style: Tensor | None = None  # the target style [N, style_dim] the translation was drawn in (styled only)
    render: Callable[[Tensor], Tensor] | None = None  # the same sources translated in another style (styled only)
    draw_style: Callable[[Tensor], Tensor] | None = None  # a fresh target style per image of its argument


class Term(nn.Module):
    """One extra term of a translator's generator loss: ``Config`` holds its options (flat ``model.*`` fields, mixed
    into the config of each translator that takes the term), its submodules are its state (saved under
    ``terms.<name>.`` in the checkpoint), ``forward`` reads one direction's translation and ``loss`` weighs what
    it logged. A term with ``style_dim`` > 0 gives the generators their style codes (at most one per translator)."""

    Config: ClassVar[type]  # a dataclass of the term's options
    pretrained: ClassVar[dict[str, tuple[str, ...]]] = {}  # config field naming a run it loads -> model names
    renamed_from: ClassVar[dict[str, str]] = {}  # checkpoint prefix of an older layout -> its name in the term
    style_dim: int = 0  # numbers in a style code this term draws and reads; 0 = none

    def __init__(self, config: Any):
        super().__init__()
        self.config = config  # the translator's model config

    @classmethod
    def check(cls, config: Any) -> None:
        """One clear line for a bad option (called for every config that carries the term's options)."""

    @classmethod
    def wanted(cls, config: Any) -> bool:
        """Whether ``config`` turns the term on (it is then built and applied)."""
        raise NotImplementedError

    def names(self) -> tuple[str, ...]:
        """The values ``forward`` logs, summed over the directions (phase g logs each, 0 for a batch without
        them)."""
        raise NotImplementedError

    def forward(self, translation: Translation) -> dict[str, Tensor]:
        """The term's unweighted values on one direction's translation (a subset of ``names``)."""
        raise NotImplementedError

    def loss(self, values: dict[str, Tensor]) -> Tensor:
        """Its weighted part of the generator loss, from ``values`` (every name, summed over the directions)."""
        raise NotImplementedError


TERMS: Registry[type[Term]] = Registry("translator term")


def applicable(config_class: type) -> list[tuple[str, type[Term]]]:
    """The registered terms whose options a model config class carries, in registration order."""
    return [(name, term) for name, term in TERMS.items() if issubclass(config_class, term.Config)]


def build_terms(config: Any) -> nn.ModuleDict:
    """The terms a translator config turns on, by registered name (every applicable one checks its options)."""
    built = nn.ModuleDict()
    for name, term in applicable(type(config)):
        term.check(config)
        if term.wanted(config):
            built[name] = term(config)
    return built


def terms_pretrained(config_class: type) -> dict[str, tuple[str, ...]]:
    """The runs the applicable terms may load (genlab.runs embeds their configs and loads their weights): config
    field -> model names; all optional."""
    return {field: kinds for _, term in applicable(config_class) for field, kinds in term.pretrained.items()}


def terms_config(name: str = "TermsConfig") -> type:
    """One dataclass holding the options of every registered term (a translator config derives from it)."""
    bases = tuple(reversed([term.Config for _, term in TERMS.items()]))  # the first term's fields come first
    return dataclasses.make_dataclass(name, [], bases=bases)


def term_renames(terms: nn.ModuleDict) -> dict[str, str]:
    """Checkpoint prefixes of older layouts -> where the built terms keep those weights now."""
    return {old: f"terms.{name}.{new}" for name, term in terms.items() for old, new in term.renamed_from.items()}


def renamed_prefix(key: str, renames: dict[str, str]) -> str:
    """``key`` with the first of ``renames``' old prefixes it starts with replaced by the new one."""
    return next((new + key[len(old) :] for old, new in renames.items() if key.startswith(old)), key)


def zeros(names: tuple[str, ...], like: Tensor) -> dict[str, Tensor]:
    """A 0 per name, on ``like``'s device: the sums phase g adds each direction's values to."""
    return {name: like.new_zeros(()) for name in names}


def add_values(totals: dict[str, Tensor], values: dict[str, Tensor]) -> dict[str, Tensor]:
    """``totals`` with ``values`` added name by name."""
    return {**totals, **{name: totals[name] + value for name, value in values.items()}}
