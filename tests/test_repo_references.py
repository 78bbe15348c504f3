"""Every reference a reader follows points at something in the repository: no file cites the
specification or API documents that live outside it (the rule book, docs/rules.rst, and the API
reference, docs/api.rst, replace them), and every repository path named in the README, the docs,
the package's docstrings and messages, the engine's comments and the corpora's READMEs exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT

# Spelt in pieces so that this file does not cite them itself.
OUTSIDE = re.compile(r"\b(?:SPEC|API)\." + "md" + r"\b|\bSPEC" + r" §")

TEXT_SUFFIXES = {".py", ".pyi", ".rs", ".md", ".rst", ".toml", ".json", ".yaml", ".yml", ".ipynb", ".txt", ".sh",
                 ".cfg", ".html", ".j2", ".go", ".expected"}


def repository_files() -> list[Path]:
    """Tracked files and new files not ignored (what the next commit holds)."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                             capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout")
    return [ROOT / p for p in out.decode().split("\0") if p and (ROOT / p).is_file()]


def test_no_file_cites_documents_outside_the_repository() -> None:
    offenders = []
    for path in repository_files():
        if path.suffix not in TEXT_SUFFIXES or "corpus" in path.relative_to(ROOT).parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}")
    assert not offenders, "cite the rule book (docs/rules.rst) or the API reference (docs/api.rst) instead:\n" + "\n".join(offenders)


TOP = r"(?:examples|docs|tests|benchmarks|benches|notebooks|python/hapolicy|src|fuzz)"
PATH = re.compile(r"(?<![\w./~$-])(" + TOP + r"/[\w.*/-]*[\w*/])")
# Outputs that exist only once something has been built or run.
GENERATED = {"docs/_build", "fuzz/target", "fuzz/corpus", "fuzz/artifacts"}


def cited_paths(text: str) -> set[str]:
    out = set()
    for m in PATH.finditer(text):
        p = m.group(1).rstrip(".")
        if any(p == g or p.startswith(g + "/") for g in GENERATED):
            continue
        out.add(p)
    return out


def exists(path: str) -> bool:
    if "*" in path:
        return any(ROOT.glob(path.rstrip("/")))
    return (ROOT / path).exists()


def documents() -> list[Path]:
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.rst")), *sorted((ROOT / "docs").glob("*.py"))]
    docs += sorted((ROOT / "python" / "hapolicy").rglob("*.py")) + sorted((ROOT / "python" / "hapolicy").rglob("*.pyi"))
    docs += sorted((ROOT / "src").rglob("*.rs"))
    docs += [p for p in (ROOT / "tests").rglob("README.md")] + [p for p in (ROOT / "fuzz").glob("*.md")]
    docs += sorted((ROOT / "notebooks").glob("*.ipynb"))
    return [p for p in docs if p.is_file() and "_build" not in p.parts]


def test_cited_paths_exist() -> None:
    missing = []
    for doc in documents():
        for path in sorted(cited_paths(doc.read_text(encoding="utf-8", errors="replace"))):
            if not exists(path):
                missing.append(f"{doc.relative_to(ROOT)}: {path}")
    assert not missing, "paths cited that do not exist:\n" + "\n".join(missing)


def test_the_path_finder() -> None:
    text = ("see examples/lab.json, docs/rules.rst and tests/golden/**/ (also `src/sim/mod.rs`); "
            "https://example.org/src/x.rs is a URL; run python -m sphinx docs docs/_build")
    assert cited_paths(text) == {"examples/lab.json", "docs/rules.rst", "tests/golden/**/", "src/sim/mod.rs"}
    assert exists("tests/golden/**/") and exists("docs/rules.rst") and not exists("docs/nothing.rst")
    assert OUTSIDE.search("the " + "SPEC" + ".md") and OUTSIDE.search("see " + "API" + ".md")
    assert OUTSIDE.search("SPEC" + " §5") and not OUTSIDE.search("the spec")
