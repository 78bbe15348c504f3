"""The rule book (docs/rules.rst and docs/rules/*.rst) defines every rule id the repository cites,
and its "planned — not yet implemented" marks are true of the engine: each planned rule has a
probe showing the feature is still absent. When a probe fails, the rule has been implemented:
update its section in the rule book (and this test)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from .conftest import ROOT

DOCS = ROOT / "docs"
RULE = re.compile(r"\bR-[A-Z]+(?:-[A-Z0-9]+)*\b")
LABEL = re.compile(r"^\.\. _(r-[a-z0-9-]+):\s*$", re.MULTILINE)
PLANNED = "Planned — not yet implemented"

# Every rule the behaviour reference covers (the list), each with a section of its own.
RULES = ["R-INV-1", "R-ELECT", "R-ELECT-1", "R-CLASS-M", "R-CLASS-S", "R-TIME", "R-HBDS", "R-ISO", "R-AC-0",
         "R-AC-SLOT", "R-AC-PCT", "R-AC-FH", "R-AC-MAINT", "R-AC-PERF", "R-PLACE-1", "R-PLACE-2", "R-PLACE-3",
         "R-PLACE-4", "R-ORCH", "R-PLACE-DRS", "R-OUTAGE", "R-VMCP", "R-VMMON", "R-DOMAIN", "R-REMEDY"]


def rule_book() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in [DOCS / "rules.rst", *sorted((DOCS / "rules").glob("*.rst"))])


def sections() -> dict[str, str]:
    """Rule id → the text of its section (from its label to the next label)."""
    text = rule_book()
    marks = list(LABEL.finditer(text))
    return {m.group(1).upper(): text[m.end(): marks[i + 1].start() if i + 1 < len(marks) else len(text)]
            for i, m in enumerate(marks)}


def cited_ids() -> dict[str, str]:
    """Every rule id cited in the repository's code, tests, examples and README, with one file
    citing it."""
    found: dict[str, str] = {}
    roots = ["src", "python", "tests", "benches", "benchmarks", "examples", "notebooks", "fuzz"]
    files = [ROOT / "README.md"] + [p for r in roots if (ROOT / r).is_dir() for p in sorted((ROOT / r).rglob("*"))]
    for path in files:
        if path.suffix not in {".rs", ".py", ".pyi", ".md", ".ipynb", ".rst"} or not path.is_file():
            continue
        if "corpus" in path.parts or "target" in path.parts:
            continue
        for rule in RULE.findall(path.read_text(encoding="utf-8", errors="replace")):
            found.setdefault(rule, str(path.relative_to(ROOT)))
    return found


def test_every_rule_has_a_section() -> None:
    defined = sections()
    missing = [r for r in RULES if r not in defined]
    assert not missing, f"rules without a section in the rule book: {missing}"
    for rule in RULES:
        assert "**Rule.**" in defined[rule] or rule == "R-ELECT-1", f"{rule}: its section states no rule"


def test_every_cited_rule_id_is_defined() -> None:
    defined = sections()
    undefined = {rule: where for rule, where in cited_ids().items() if rule not in defined}
    assert not undefined, f"rule ids cited but not defined in the rule book (id: a file citing it): {undefined}"


def test_rule_book_is_the_entry_point() -> None:
    text = (DOCS / "rules.rst").read_text(encoding="utf-8")
    for page in sorted((DOCS / "rules").glob("*.rst")):
        assert f"rules/{page.stem}" in text, f"{page.name} is not in the toctree of docs/rules.rst"
    assert ".. hapolicy-rule-citations::" in text and "Rules and where they live" in text


# ------------------------------------------------------------------------- the planned rules


PLANNED_RULES: dict[str, Callable[[], bool]] = {}
# Partly planned (the section says which part is planned): none today. R-DOMAIN's last planned
# part, VMCP terminating split-brain copies, landed (r_domain_vsan_partition_vmcp_terminates_copies).
PARTLY_PLANNED: dict[str, Callable[[], bool]] = {}


def test_planned_rules_are_marked_and_still_absent() -> None:
    # No rule is wholly planned today; a rule added to PLANNED_RULES is checked here.
    for rule in sorted(PLANNED_RULES):
        body = sections()[rule]
        assert PLANNED in body.split("**Rule.**")[0], f"{rule}: its section must open with '{PLANNED}'"
        assert "What the engine does today" in body, rule
        assert PLANNED_RULES[rule](), f"{rule} looks implemented now: update its section of the rule book"


def test_partly_planned_rules_say_which_part() -> None:
    # No rule is partly planned today; a rule added to PARTLY_PLANNED is checked here.
    for rule in sorted(PARTLY_PLANNED):
        assert PLANNED in sections()[rule], rule
        assert PARTLY_PLANNED[rule](), f"the planned part of {rule} looks implemented now: update the rule book"


def test_implemented_rules_are_not_marked_planned() -> None:
    marked = {r for r, body in sections().items() if PLANNED in body}
    assert marked == set(PLANNED_RULES) | set(PARTLY_PLANNED), sorted(marked)


def test_status_table_matches_the_sections() -> None:
    text = (DOCS / "rules.rst").read_text(encoding="utf-8")
    table = text[text.index("Status at a glance"):text.index("Where the sources disagree")]
    for rule in PLANNED_RULES:
        row = table[table.index(f"<{rule.lower()}>"):]
        row = row[:row.index("   * -", 1)] if "   * -" in row[1:] else row
        assert "planned — not yet implemented" in row, rule


def test_sources_are_named() -> None:
    text = rule_book()
    for source in ("Availability Guide", "HA Deepdive", "vSphere API reference", "Duncan Epping"):
        assert source in text, source
    for rule, body in sections().items():
        if rule in RULES and rule not in {"R-ELECT-1", "R-REMEDY"}:
            assert "**Sources.**" in body or "Sources." in body, f"{rule}: no sources named"


def test_docs_tree_has_no_stray_pages() -> None:
    for page in (DOCS / "rules").glob("*"):
        assert page.suffix == ".rst", page
    assert Path(DOCS / "inventory.rst").is_file()
