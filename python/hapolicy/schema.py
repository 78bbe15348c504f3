"""The JSON Schema (draft 2020-12) of the inventory document, shipped inside the package as
``hapolicy/inventory.schema.json`` and printed by ``hapolicy schema``.

The schema describes the *shape* of an inventory: fields, types, enumerated values (vSphere API
spelling), ranges and defaults, as the engine reads them (``src/parse.rs``). The engine checks
more than the shape (rule R-INV-1 in the rule book, docs/rules.rst): references to unknown ids,
duplicate ids, reservations no host can hold, dependency cycles. Unknown fields, which the engine
ignores with a warning, are rejected by the schema so that editors flag typos. The page
docs/inventory.rst renders the schema and describes each field.

>>> from hapolicy.schema import inventory_schema
>>> inventory_schema()["required"]
['hosts']
"""


import copy as _copy
import json as _json
from functools import lru_cache as _lru_cache
from importlib import resources as _resources
from typing import Any as _Any

__all__ = ["SCHEMA_FILE", "inventory_schema", "inventory_schema_text"]

SCHEMA_FILE = "inventory.schema.json"
"""Name of the schema file inside the ``hapolicy`` package."""


@_lru_cache(maxsize=1)
def inventory_schema_text() -> str:
    """The inventory schema as shipped: JSON text (what ``hapolicy schema`` prints)."""
    return _resources.files("hapolicy").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


@_lru_cache(maxsize=1)
def _parsed() -> dict[str, _Any]:
    value = _json.loads(inventory_schema_text())
    if not isinstance(value, dict):  # pragma: no cover - the shipped file is an object
        raise TypeError(f"{SCHEMA_FILE} does not hold a JSON object")
    return value


def inventory_schema() -> dict[str, _Any]:
    """The JSON Schema (draft 2020-12) of the inventory document, as a new dict on every call
    (change it freely). Validate with any JSON Schema library, e.g.
    ``jsonschema.Draft202012Validator(inventory_schema()).validate(doc)``."""
    return _copy.deepcopy(_parsed())
