"""The malformed-inventory corpus (tests/invalid/, see its README) through the Python API:
the same expectations the Rust test checks, seen as ``InventoryError.problems``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha

CORPUS = Path(__file__).resolve().parent / "invalid"
CASES = sorted(CORPUS.glob("*.expected"))


def document(expected: Path) -> Path:
    docs = [p for p in CORPUS.glob(expected.stem + ".*") if p.suffix in (".json", ".yaml", ".yml")]
    assert len(docs) == 1, f"{expected.name}: expected exactly one document beside it, found {docs}"
    return docs[0]


def matches(got: list[tuple[str, str]], want: list[list[Any]]) -> None:
    """Every expected entry is matched by a distinct problem with the same path whose message
    contains every gist, and no problem is left over."""
    listing = "\n".join(f"  {p}: {m}" for p, m in got)
    unused = list(got)
    for want_path, gist in want:
        pieces = [gist] if isinstance(gist, str) else gist
        hit = next((g for g in unused if g[0] == want_path and all(x in g[1] for x in pieces)), None)
        assert hit is not None, f"no problem at {want_path!r} containing {pieces!r}; got:\n{listing}"
        unused.remove(hit)
    assert not unused, f"unexpected problems {unused!r}; got:\n{listing}"


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_case(case: Path) -> None:
    spec = json.loads(case.read_text())
    doc = document(case)
    if spec.get("errors"):
        # From text, a problem of the document as a whole is placed at <json>/<yaml>/<root>;
        # loaded from a file, the same problem names the file instead.
        read = ha.Inventory.from_json if doc.suffix == ".json" else ha.Inventory.from_yaml
        with pytest.raises(ha.InventoryError) as info:
            read(doc.read_text(encoding="utf-8"))
        matches(info.value.problems, spec["errors"])
        assert info.value.problems == sorted(info.value.problems)
        with pytest.raises(ha.InventoryError) as info:
            ha.Inventory.load(doc)
        whole = ("<json>", "<yaml>", "<root>")
        matches(info.value.problems, [[str(doc) if p in whole else p, g] for p, g in spec["errors"]])
    else:
        inv = ha.Inventory.load(doc)
        matches(inv.warnings, spec.get("warnings", []))
