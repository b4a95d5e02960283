"""One small registry class: things of one kind (models, datasets, metrics, GAN objectives, likelihoods) found
by name, each registered once by the module that defines it (see docs/extending.md)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar, overload

from .errors import GenlabError

T = TypeVar("T")
_NOTHING: Any = object()


class Registry(Generic[T]):
    """Named entries of one kind, in registration order; a duplicate name is refused and an unknown one is
    one clear line listing the choices (``choice`` says how an entry is shown there; default: its name)."""

    def __init__(self, kind: str, choice: Callable[[str, T], str] | None = None):
        self.kind = kind
        self._choice = choice or (lambda name, entry: name)
        self._entries: dict[str, T] = {}
        self.entries: Mapping[str, T] = MappingProxyType(self._entries)  # a read-only, live view

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, entry: T) -> T: ...

    def register(self, name: str, entry: Any = _NOTHING) -> Any:
        """Add ``entry`` under ``name`` and return it; without an entry, a decorator that does so."""
        if entry is _NOTHING:
            return lambda decorated: self.register(name, decorated)
        if not isinstance(name, str) or not name:
            raise GenlabError(f"a {self.kind} needs a non-empty name, got {name!r}")
        if name in self._entries:
            raise GenlabError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> T:
        """Remove ``name`` (an entry added for a while, e.g. by a test) and return its entry."""
        entry = self.get(name)
        del self._entries[name]
        return entry

    def get(self, name: str) -> T:
        """The entry registered as ``name``; unknown names are one line listing the choices."""
        if not isinstance(name, str) or name not in self._entries:
            raise self.unknown(name)
        return self._entries[name]

    def unknown(self, name: Any) -> GenlabError:
        """The error for a name that is not registered (callers that parse names raise it for the whole name)."""
        return GenlabError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.choices())}")

    def choices(self) -> list[str]:
        """Every entry as the error for unknown names shows it, sorted."""
        return sorted(self._choice(name, entry) for name, entry in self._entries.items())

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """(name, entry) pairs, in registration order."""
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"


def import_modules(package: str, path: Iterable[str]) -> None:
    """Import every module of a package (``import_modules(__name__, __path__)`` in its ``__init__``), in the order of
    their file names, so that each registers what it defines."""
    for module in pkgutil.iter_modules(path):
        importlib.import_module(f"{package}.{module.name}")


# Functions a higher layer lends a lower one, by name (a lower layer never imports a higher one): the genlab
# package registers "save_pretrained" when it is imported, before any of its modules, and
# GenerativeModel.save_pretrained (models) calls it, since the folder it writes needs runs and the model card.
HOOKS: Registry[Callable[..., Any]] = Registry("hook")
