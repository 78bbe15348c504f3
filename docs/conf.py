"""Sphinx configuration for the hapolicy API reference (builds offline: no intersphinx)."""

from __future__ import annotations

import argparse
import inspect
import os
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.ext.napoleon.docstring import GoogleDocstring
from sphinx.util.docutils import SphinxDirective

import hapolicy

ROOT = Path(__file__).resolve().parent.parent

project = "hapolicy"
author = "hapolicy contributors"
copyright = "hapolicy contributors"  # noqa: A001 - Sphinx setting
release = hapolicy.__version__
version = release

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
exclude_patterns = ["_build"]
templates_path: list[str] = []

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = True
napoleon_numpy_docstring = True
add_module_names = False
python_use_unqualified_type_names = True


def _prose_attribute_docstring(self: Any) -> list[str]:
    """hapolicy's attribute and property docstrings are prose (the type comes from the
    annotation): napoleon's Google-style "type: description" split would cut them at the first
    colon, so keep them whole."""
    lines: list[str] = self._consume_to_end()
    parsed: list[str] = self.__class__(lines, self._config).lines()
    return parsed


if hasattr(GoogleDocstring, "_parse_attribute_docstring"):
    GoogleDocstring._parse_attribute_docstring = _prose_attribute_docstring  # type: ignore[method-assign]

html_theme = "alabaster"
html_title = f"hapolicy {release}"
html_theme_options = {"description": "vSphere HA decisions, reproduced", "fixed_sidebar": True}


# ---------------------------------------------------------------------------- api.rst
# Every name hapolicy exports is documented: names api.rst does not list (e.g. the what-if
# sweep API while it is new) are inserted at the marker comment at build time.

_LISTED = re.compile(r"^\.\. auto(?:class|function|data|exception)::\s+(\w+)(?:\(\))?\s*$", re.MULTILINE)
_MARKER = ".. unlisted exports are inserted here"
_SWEEP_NAMES = ("sweep", "SweepResult", "ScenarioResult", "LevelSummary")


def _unlisted_exports(text: str) -> list[str]:
    listed = set(_LISTED.findall(text))
    return [name for name in hapolicy.__all__ if name not in listed]


def _directives(names: list[str]) -> list[str]:
    lines: list[str] = []
    for name in names:
        obj = getattr(hapolicy, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            lines += [f".. autoexception:: {name}", ""]
        elif inspect.isclass(obj):
            lines += [f".. autoclass:: {name}", "   :members:", ""]
        elif callable(obj):
            lines += [f".. autofunction:: {name}", ""]
        else:
            lines += [f".. autodata:: {name}", ""]
    return lines


def _append_unlisted(app: Sphinx | None, docname: str, source: list[str]) -> None:
    if docname != "api":
        return
    extra = _unlisted_exports(source[0])
    sweep = [n for n in extra if n in _SWEEP_NAMES]
    other = [n for n in extra if n not in _SWEEP_NAMES]
    lines = [".. currentmodule:: hapolicy", ""]
    if sweep:
        lines += ["What-if sweeps (R-PLACE for every host-failure combination)",
                  "-------------------------------------------------------------", ""] + _directives(sweep)
    if other:
        lines += ["Also exported", "-------------", "",
                  "Exported by :mod:`hapolicy` and not yet placed in a section of its own.", ""] + _directives(other)
    block = "\n".join(lines) if extra else ""
    if _MARKER in source[0]:
        source[0] = source[0].replace(_MARKER, block)
    else:
        source[0] += "\n\n" + block


# ---------------------------------------------------------------------------- cli.rst


class CliHelp(SphinxDirective):
    """``.. hapolicy-cli-help::`` — the ``--help`` text of ``hapolicy`` and every subcommand,
    taken from the parser itself so the page never goes stale."""

    def run(self) -> list[nodes.Node]:
        from hapolicy.cli import _parser

        os.environ["COLUMNS"] = "100"  # deterministic wrapping
        parser = _parser()
        out: list[nodes.Node] = [nodes.literal_block(text=parser.format_help().rstrip())]
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        for name, sub in subparsers.choices.items():
            out.append(nodes.rubric(text=f"hapolicy {name}"))
            out.append(nodes.literal_block(text=sub.format_help().rstrip()))
        return out


# ---------------------------------------------------------------------------- rules.rst

_RULE = re.compile(r"\bR-[A-Z]+(?:-[A-Z0-9]+)*\b")


class RuleCitations(SphinxDirective):
    """``.. hapolicy-rule-citations::`` — for every rule id, the files that cite it (engine,
    Python package, tests), found by scanning the source tree at build time."""

    def run(self) -> list[nodes.Node]:
        cited: dict[str, dict[str, set[str]]] = {}
        areas = (("engine (src/)", ROOT / "src", "*.rs"), ("Python (python/hapolicy/)", ROOT / "python" / "hapolicy", "*.py"),
                 ("tests", ROOT / "tests", "*.*"))
        for area, base, pattern in areas:
            if not base.is_dir():
                continue
            for path in sorted(base.rglob(pattern)):
                if path.suffix not in (".rs", ".py") or not path.is_file():
                    continue
                for rule in set(_RULE.findall(path.read_text(encoding="utf-8", errors="replace"))):
                    cited.setdefault(rule, {}).setdefault(area, set()).add(str(path.relative_to(ROOT)))
        if not cited:
            return [nodes.paragraph(text="(source tree not available: citations are listed from a checkout)")]
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 14 30 30 26", "",
                 "   * - rule", "     - engine (src/)", "     - Python (python/hapolicy/)", "     - tests"]
        for rule in sorted(cited):
            lines.append(f"   * - ``{rule}``")
            for area, _, _ in areas:
                files = sorted(cited[rule].get(area, ()))
                lines.append("     - " + (", ".join(f"``{f}``" for f in files) if files else "—"))
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="rule-citations"), self.content_offset, container)
        return list(container.children)


# ---------------------------------------------------------------------------- rules/options.rst


def _option_value(value: Any) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, bool):
        return "``true``" if value else "``false``"
    if isinstance(value, float) and value.is_integer():
        return f"``{int(value)}``"
    return f"``{value}``"


def option_defaults() -> dict[str, list[tuple[list[str], Any]]]:
    """For every option the engine reads (``Inventory.options``), its default per cluster
    version, consecutive versions with the same default grouped: ``[(["5.0"], False), (["5.1",
    …, "8.0"], True)]``."""
    out: dict[str, list[tuple[list[str], Any]]] = {}
    for version in hapolicy.Version:
        options = hapolicy.Inventory.from_dict({"hosts": [], "cluster": {"version": version.value}}).options
        for key, value in options.items():
            groups = out.setdefault(key, [])
            if groups and groups[-1][1] == value:
                groups[-1][0].append(version.value)
            else:
                groups.append(([version.value], value))
    return out


def _default_text(groups: list[tuple[list[str], Any]]) -> str:
    if len(groups) == 1:
        return _option_value(groups[0][1])
    parts = []
    for versions, value in groups:
        span = versions[0] if len(versions) == 1 else f"{versions[0]}–{versions[-1]}"
        parts.append(f"{_option_value(value)} ({span})")
    return ", ".join(parts)


class OptionTable(SphinxDirective):
    """``.. hapolicy-options::`` — the options the engine reads, with their defaults per version
    taken from the engine itself (``Inventory.options`` for every version). Each content line is
    ``key | rules | what it does``; an option the engine reads that has no line fails the build.
    Lines for options the engine does not read (yet) are not shown."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        defaults = option_defaults()
        described: dict[str, tuple[str, str]] = {}
        for line in self.content:
            if not line.strip():
                continue
            key, rules, what = (part.strip() for part in line.split("|", 2))
            described[key] = (rules, what)
        missing = sorted(set(defaults) - set(described))
        if missing:
            raise self.error(f"hapolicy-options: options the engine reads without a line here: {missing}")
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 30 22 12 36", "",
                 "   * - option", "     - default (by version)", "     - rules", "     - what it does"]
        for key in defaults:
            rules, what = described[key]
            lines += [f"   * - ``{key}``", f"     - {_default_text(defaults[key])}", f"     - {rules}", f"     - {what}"]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="hapolicy-options"), self.content_offset, container)
        return list(container.children)


# ---------------------------------------------------------------------------- inventory.rst


def _schema_node(path: str) -> dict[str, Any]:
    """The object schema at ``path``: ``document``, a ``$defs`` name (``host``), or a dotted
    property path from there (``cluster.admission_control``, ``vm.vmcp``)."""
    from hapolicy.schema import inventory_schema

    schema = inventory_schema()
    first, *rest = path.split(".")
    node: dict[str, Any] = schema if first == "document" else schema["properties"]["cluster"] if first == "cluster" else schema["$defs"][first]
    for step in rest:
        node = node["properties"][step]
    return node


def _schema_type(node: dict[str, Any]) -> str:
    if "$ref" in node:
        return node["$ref"].rsplit("/", 1)[-1]
    if "enum" in node:
        return " | ".join(f"``{v}``" for v in node["enum"] if v is not None)
    if "anyOf" in node or "oneOf" in node:
        return " or ".join(_schema_type(b) for b in node.get("anyOf", node.get("oneOf", [])))
    kinds = node.get("type", "any")
    kinds = [kinds] if isinstance(kinds, str) else [k for k in kinds if k != "null"]
    text = " or ".join({"integer": "whole number", "number": "number", "string": "text", "boolean": "boolean",
                        "object": "object", "array": "list"}.get(k, k) for k in kinds)
    if "array" in kinds and "items" in node:
        text = f"list of {_schema_type(node['items'])}"
    lo, hi = node.get("minimum"), node.get("maximum")
    if lo is not None and hi is not None and hi < 2**53:
        text += f" ({lo}–{hi})"
    elif lo is not None and lo > 0:
        text += f" (≥ {lo})"
    return text


class SchemaFields(SphinxDirective):
    """``.. hapolicy-schema-fields:: host`` — the fields of one object of the inventory, from the
    JSON Schema shipped in the package (hapolicy/inventory.schema.json): name, type, required or
    default, description."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        node = _schema_node(self.arguments[0])
        required = set(node.get("required", []))
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 22 28 14 36", "",
                 "   * - field", "     - type", "     - default", "     - meaning"]
        for name, prop in node.get("properties", {}).items():
            default = "required" if name in required else _option_value(prop["default"]) if "default" in prop else "—"
            lines += [f"   * - ``{name}``", f"     - {_schema_type(prop)}", f"     - {default}",
                      f"     - {prop.get('description', '')}"]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="hapolicy-schema-fields"), self.content_offset, container)
        return list(container.children)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("source-read", _append_unlisted)
    app.add_directive("hapolicy-cli-help", CliHelp)
    app.add_directive("hapolicy-rule-citations", RuleCitations)
    app.add_directive("hapolicy-options", OptionTable)
    app.add_directive("hapolicy-schema-fields", SchemaFields)
    return {"parallel_read_safe": True}
