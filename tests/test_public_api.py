"""The public names, exactly (after httpx's test): ``evalbook.__all__`` is this list, every
public object of the package is in it, and every package that keeps an ``__all__`` has
each name it lists, once."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import evalbook

PUBLIC = [
    "Case",
    "GenerateRequest",
    "GenerateResponse",
    "Message",
    "ModelConfig",
    "Prompt",
    "PromptVersion",
    "Provider",
    "Result",
    "ResultStatus",
    "RunRecord",
    "RunStatus",
    "ScoreContext",
    "ScoreOutcome",
    "Scorer",
    "ScorerKind",
    "ScorerSpec",
    "Suite",
    "__version__",
    "apairwise",
    "arescore",
    "aresume",
    "arun",
    "compare",
    "get_run",
    "load_suite",
    "open_store",
    "pairwise",
    "provider",
    "rescore",
    "results",
    "resume",
    "run",
    "scorer",
]


def _public(module: ModuleType) -> set[str]:
    """Names a package offers: not private, not a submodule, not a flag or a class or
    function it only uses (one defined outside the package: a type for its annotations)."""
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_") or name in {"annotations", "TYPE_CHECKING"}:
            continue
        if isinstance(value, ModuleType):
            continue
        defined = inspect.isclass(value) or inspect.isfunction(value)
        if defined and not value.__module__.startswith(module.__name__):
            continue
        names.add(name)
    return names


def test_the_public_api_is_exactly_listed() -> None:
    assert evalbook.__all__ == PUBLIC
    for name in PUBLIC:
        assert hasattr(evalbook, name), name
    assert _public(evalbook) <= set(PUBLIC)


def test_public_api_loads_lazily_and_completely() -> None:
    # ``import evalbook`` loads each public name on first use; the table that says where
    # each one lives covers the whole public API, and each name is the object it points at.
    where = evalbook._WHERE
    assert set(where) == set(evalbook.__all__)
    for name, module in where.items():
        assert getattr(evalbook, name) is getattr(importlib.import_module(module), name), name


def test_every_all_names_what_its_package_has() -> None:
    checked = []
    for info in pkgutil.walk_packages(evalbook.__path__, "evalbook."):
        if not info.ispkg or ".migrations" in info.name:
            continue
        package = importlib.import_module(info.name)
        listed = getattr(package, "__all__", None)
        if listed is None:
            continue
        checked.append(info.name)
        assert len(listed) == len(set(listed)), f"{info.name}: a name listed twice"
        missing = [name for name in listed if not hasattr(package, name)]
        assert not missing, f"{info.name}.__all__ names what it lacks: {missing}"
    assert "evalbook.providers" in checked and "evalbook.core" in checked
