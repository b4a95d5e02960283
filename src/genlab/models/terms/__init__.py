"""The translator terms: each file holds one (its options, state and loss) and registers it in ``TERMS``; the
import below is the one line that adds a term to every two-way translator (docs/extending.md)."""

from . import mode_seeking, semantic, style  # noqa: F401 -- registers the built-in terms
from .base import (
    TERMS,
    Term,
    Translation,
    add_values,
    build_terms,
    renamed_prefix,
    term_renames,
    terms_config,
    terms_pretrained,
    zeros,
)

# the options of every registered term, which the two-way translators' configs derive from
TermsConfig = terms_config()

__all__ = [
    "TERMS",
    "Term",
    "TermsConfig",
    "Translation",
    "add_values",
    "build_terms",
    "renamed_prefix",
    "term_renames",
    "terms_config",
    "terms_pretrained",
    "zeros",
]
