"""Id and count arguments checked before they reach the core.

The core takes ids as UTF-8. A Python ``str`` holding a lone surrogate (``"\\ud800"``, or
``"\\udcff"`` — how Python hands over a command-line byte that is not UTF-8) cannot be
encoded, and the bare conversion would raise ``UnicodeEncodeError``. No inventory can hold such
an id (documents are UTF-8 text), so it names nothing: the calls treat it as the unknown id it
is.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

from .errors import ArgumentError, UnknownIdError

__all__ = ["FAILURE_UNITS", "MAX_U32", "MAX_U64", "encodable", "failure_unit", "id_arg", "id_list", "known_ids", "printable", "whole_number"]

MAX_U32 = 2**32 - 1
MAX_U64 = 2**64 - 1

#: What one failure takes down in sweeps and remedies (R-DOMAIN).
FAILURE_UNITS = ("host", "fault_domain", "site")


def failure_unit(unit: str) -> str:
    """``unit`` when it is one of :data:`FAILURE_UNITS`, else :class:`ArgumentError`."""
    if unit not in FAILURE_UNITS:
        raise ArgumentError(f"unit must be one of {', '.join(repr(u) for u in FAILURE_UNITS)}, got {unit!r}")
    return unit


def whole_number(value: Any, name: str, minimum: int = 0, maximum: int | None = None) -> int:
    """``value`` as an int of at least ``minimum`` and at most ``maximum``, or
    :class:`ArgumentError` — never the ``OverflowError`` / ``TypeError`` of the core's own
    conversion. Anything with ``__index__`` counts (numpy integers too), ``bool`` does not.

    ``maximum`` is the bound a user can actually use (e.g. 100,000 generated hosts); without
    one the core's unsigned 64-bit range applies, and a value beyond it is reported as too
    large without quoting the machine limit."""
    n: int | None = None
    if not isinstance(value, bool):
        try:
            n = operator.index(value)
        except TypeError:
            n = None
    if n is None:
        raise ArgumentError(f"{name} must be a whole number, got {value!r} ({type(value).__name__})")
    if maximum is not None and not minimum <= n <= maximum:
        raise ArgumentError(f"{name} must be a whole number from {minimum:,} to {maximum:,}, got {n:,}")
    if n < minimum:
        raise ArgumentError(f"{name} must be a whole number ≥ {minimum:,}, got {n:,}")
    if n > MAX_U64:
        raise ArgumentError(f"{name} must be a whole number ≥ {minimum:,}; {n:,} is too large")
    return n


def encodable(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def id_arg(value: str, kind: str) -> str:
    """``value``; :class:`UnknownIdError` when it is a str UTF-8 cannot encode."""
    if isinstance(value, str) and not encodable(value):
        raise UnknownIdError(kind, value)
    return value


def id_list(values: Iterable[str], kind: str) -> list[str]:
    """The ids as a list; :class:`UnknownIdError` for the first that UTF-8 cannot encode."""
    return [id_arg(v, kind) for v in values]


def known_ids(values: Iterable[str]) -> list[str]:
    """The ids as a list without those UTF-8 cannot encode (for calls that ignore unknown ids)."""
    return [v for v in values if not isinstance(v, str) or encodable(v)]


def printable(value: str) -> str:
    """``value`` with lone surrogates written as ``\\udcff`` escapes (for text about an id
    that names nothing)."""
    if isinstance(value, str) and not encodable(value):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value
