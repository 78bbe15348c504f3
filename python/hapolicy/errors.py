"""Exceptions. Every error the engine raises derives from :class:`HaPolicyError`."""

from __future__ import annotations

import errno
from collections.abc import Iterable

__all__ = [
    "ArgumentError",
    "HaPolicyError",
    "InternalError",
    "InventoryError",
    "InventoryFileNotFoundError",
    "OutOfMemoryError",
    "UnknownIdError",
]


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


class InventoryFileNotFoundError(InventoryError, FileNotFoundError):
    """The inventory (or scenario) file does not exist: an :class:`InventoryError` with one
    problem, ``(path, "no such file")``, that is also a ``FileNotFoundError`` (``errno`` is
    ``ENOENT``, ``filename`` the path)."""

    def __init__(self, filename: str, message: str = "no such file") -> None:
        super().__init__([(filename, message)])
        self.errno = errno.ENOENT
        self.strerror = message
        self.filename = filename

    def __reduce__(self) -> tuple[type[InventoryError], tuple[list[tuple[str, str]]]]:
        return (_file_not_found, (self.problems,))  # type: ignore[return-value]


def _file_not_found(problems: list[tuple[str, str]]) -> InventoryFileNotFoundError:
    (filename, message), *_ = problems
    return InventoryFileNotFoundError(filename, message)


class UnknownIdError(HaPolicyError, KeyError):
    """An id or name that names nothing in the inventory (also a ``KeyError``), or a name that
    several objects of one kind carry: ``candidates`` then lists their ids and the message
    names them (``host name 'esx-01' is ambiguous: host-21, host-35``)."""

    kind: str
    id: str
    candidates: tuple[str, ...]

    def __init__(self, kind: str, id: str, candidates: Iterable[str] = ()) -> None:  # noqa: A002 - the vSphere term
        self.kind = kind
        self.id = id
        self.candidates = tuple(candidates)
        super().__init__(kind, id)

    def __str__(self) -> str:
        if self.candidates:
            return f"{self.kind} name '{self.id}' is ambiguous: {', '.join(self.candidates)}"
        return f"unknown {self.kind} '{self.id}'"

    def __reduce__(self) -> tuple[type[UnknownIdError], tuple[str, str, tuple[str, ...]]]:
        return (type(self), (self.kind, self.id, self.candidates))


class ArgumentError(HaPolicyError, ValueError):
    """An argument that makes no sense for the call."""


class OutOfMemoryError(HaPolicyError, MemoryError):
    """The engine could not reserve the memory a large input needs (the machine is out of
    memory, or the process is over its limit, e.g. ``ulimit -v``). Raised instead of aborting
    the process; catch it as :class:`MemoryError`. The message says what was being done."""


class InternalError(HaPolicyError, RuntimeError):
    """A bug in the engine (a Rust panic, caught before it reached Python). Please report it."""
