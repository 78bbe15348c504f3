"""Exceptions. Every error the engine raises derives from :class:`HaPolicyError`."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ArgumentError", "HaPolicyError", "InternalError", "InventoryError", "UnknownIdError"]


class HaPolicyError(Exception):
    """Base class of every hapolicy error."""


class InventoryError(HaPolicyError, ValueError):
    """Bad input. ``problems`` lists every problem found as ``(path, message)``, e.g.
    ``("vms[17].host", "unknown host 'host-99'")``; ``str()`` shows them all."""

    problems: list[tuple[str, str]]

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        self.problems = [(str(p), str(m)) for p, m in problems]
        super().__init__(self.problems)

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the input"
        return "\n  ".join([head, *(f"{p}: {m}" for p, m in self.problems)])

    def __reduce__(self) -> tuple[type[InventoryError], tuple[list[tuple[str, str]]]]:
        return (type(self), (self.problems,))


class UnknownIdError(HaPolicyError, KeyError):
    """An id that names nothing in the inventory (also a ``KeyError``)."""

    kind: str
    id: str

    def __init__(self, kind: str, id: str) -> None:  # noqa: A002 - the vSphere term
        self.kind = kind
        self.id = id
        super().__init__(kind, id)

    def __str__(self) -> str:
        return f"unknown {self.kind} '{self.id}'"

    def __reduce__(self) -> tuple[type[UnknownIdError], tuple[str, str]]:
        return (type(self), (self.kind, self.id))


class ArgumentError(HaPolicyError, ValueError):
    """An argument that makes no sense for the call."""


class InternalError(HaPolicyError, RuntimeError):
    """A bug in the engine (a Rust panic, caught before it reached Python). Please report it."""
