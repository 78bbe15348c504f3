"""Shared plumbing for result objects: plain-data export, pandas, HTML for Jupyter."""

from __future__ import annotations

import dataclasses
import importlib
import html
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["html_table", "plain", "records_to_pandas"]


def plain(value: Any) -> Any:
    """Converts results to JSON-able data: enums to their value, dataclasses and tuples
    recursively, mappings with string keys."""
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        if to_dict is not None:
            return to_dict()
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def records_to_pandas(
    records: list[dict[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    ints: Iterable[str] = (),
    categories: Mapping[str, Iterable[str] | type[Enum]] | None = None,
) -> pd.DataFrame:
    """A DataFrame of ``records``; pandas is an optional dependency.

    ``ints``: columns of whole numbers that may be missing, typed ``Int64`` (pandas' nullable
    integer; missing values are ``<NA>``, not a float ``NaN``). ``categories``: enum columns,
    typed ``category`` with every value of the enum (or the given values) as categories, so
    frames of different results concatenate and compare cleanly."""
    try:
        pandas: Any = importlib.import_module("pandas")
    except ImportError as exc:  # pragma: no cover - exercised only without pandas
        raise ImportError(
            "to_pandas() needs pandas, which is an optional dependency: pip install pandas"
        ) from exc
    frame = pandas.DataFrame.from_records(records, columns=list(columns) if columns is not None else None)
    for name in ints:
        frame[name] = frame[name].astype("Int64")
    for name, values in (categories or {}).items():
        cats = [str(v.value) if isinstance(v, Enum) else str(v) for v in values]
        frame[name] = frame[name].astype(pandas.CategoricalDtype(categories=cats))
    out: pd.DataFrame = frame
    return out


def html_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None, limit: int = 200
) -> str:
    """A small HTML table for ``_repr_html_`` (at most ``limit`` rows shown)."""
    out = []
    if title:
        out.append(f"<p><b>{html.escape(title)}</b></p>")
    out.append("<table><thead><tr>")
    out.extend(f"<th>{html.escape(str(c))}</th>" for c in columns)
    out.append("</tr></thead><tbody>")
    shown = 0
    hidden = 0
    for row in rows:
        if shown >= limit:
            hidden += 1
            continue
        shown += 1
        out.append("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>")
    out.append("</tbody></table>")
    if hidden:
        out.append(f"<p>… {hidden} more rows</p>")
    return "".join(out)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, Enum):
        return str(v.value)
    if isinstance(v, float):
        return f"{v:.2f}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_cell(x) for x in v)
    return str(v)
