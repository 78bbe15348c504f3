"""Every public name of the hapolicy package has a docstring: the names in each public module's
``__all__``, and the public methods and properties of its classes. Public modules define
``__all__``; ``hapolicy.plot``'s ``dir()`` lists its API, not the names it imports."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from types import ModuleType
from typing import Any

import pytest

import hapolicy

# Run as scripts or imported for their side effects, not APIs.
NOT_API = {"hapolicy.__main__"}


def public_modules() -> list[str]:
    names = ["hapolicy"]
    for info in pkgutil.walk_packages(hapolicy.__path__, "hapolicy."):
        if info.name in NOT_API or any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        names.append(info.name)
    return names


def _doc_of_its_own(obj: Any) -> bool:
    """A docstring written for it — not one inherited, nor the signature a dataclass invents."""
    doc = obj.__doc__ if inspect.isclass(obj) else inspect.getdoc(obj)
    if not doc or not doc.strip():
        return False
    # A dataclass without a docstring gets "Name(field: type, ...)" from the decorator.
    return not (dataclasses.is_dataclass(obj) and doc.startswith(f"{obj.__name__}("))


def _members(cls: type) -> list[tuple[str, Any]]:
    """Public methods and properties defined by the class itself (not inherited from builtins
    or enums)."""
    out = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            out.append((name, value.fget))
        elif isinstance(value, (classmethod, staticmethod)):
            out.append((name, value.__func__))
        elif inspect.isfunction(value):
            out.append((name, value))
    return out


def undocumented(module: ModuleType) -> list[str]:
    missing = []
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            continue
        if (inspect.isclass(obj) or inspect.isroutine(obj)) and not _doc_of_its_own(obj):
            missing.append(f"{module.__name__}.{name}")
        if inspect.isclass(obj) and obj.__module__.startswith("hapolicy"):
            for member, fn in _members(obj):
                if fn is not None and not (fn.__doc__ and fn.__doc__.strip()):
                    missing.append(f"{module.__name__}.{name}.{member}")
    return missing


@pytest.mark.parametrize("name", public_modules())
def test_public_module_defines_all(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__ and module.__doc__.strip(), f"{name}: no module docstring"
    assert isinstance(getattr(module, "__all__", None), (list, tuple)), f"{name}: no __all__"
    for export in module.__all__:
        assert hasattr(module, export), f"{name}.__all__ names {export!r}, which it does not define"


@pytest.mark.parametrize("name", public_modules())
def test_every_public_name_has_a_docstring(name: str) -> None:
    missing = undocumented(importlib.import_module(name))
    assert not missing, f"public names without a docstring: {missing}"


def test_the_check_sees_a_missing_docstring() -> None:
    module = ModuleType("hapolicy.fake")

    class Thing:
        """Documented."""

        def documented(self) -> None:
            """Yes."""

        def bare(self) -> None:
            pass

        @property
        def prop(self) -> int:
            return 1

    def function() -> None:
        pass

    Thing.__module__ = "hapolicy.fake"
    module.Thing = Thing  # type: ignore[attr-defined]
    module.function = function  # type: ignore[attr-defined]
    module.__all__ = ["Thing", "function"]  # type: ignore[attr-defined]
    assert undocumented(module) == ["hapolicy.fake.Thing.bare", "hapolicy.fake.Thing.prop", "hapolicy.fake.function"]


def test_plot_lists_only_its_api() -> None:
    from hapolicy import plot

    public = [n for n in dir(plot) if not n.startswith("_")]
    assert public == sorted(plot.__all__), sorted(set(public) ^ set(plot.__all__))
    for name in ("Any", "Counter", "dataclass", "Inventory", "plan_failover", "re"):
        assert name not in public
    # The module still works: its functions are there and documented.
    assert callable(plot.capacity) and plot.capacity.__doc__
