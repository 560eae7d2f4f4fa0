"""The package's shape: imports point down the layers of DESIGN.md; the public API is curated."""

from __future__ import annotations

import ast
from pathlib import Path

import evalbook

SRC = Path(evalbook.__file__).parent

# Lower numbers are lower layers; a module may import its own layer or lower ones only.
LAYERS = {
    "errors": 0, "config": 0, "_version": 0, "core": 0,
    "suites": 1, "prompts": 1, "providers": 1, "scorers": 1, "testing": 1, "quickstart": 1,
    "storage": 2,
    "executor": 3,
    "io": 4, "analysis": 4, "gate": 4,
    "api": 5, "__init__": 5, "worker": 5,
    "cli": 6, "__main__": 6, "server": 6,
}  # fmt: skip


def _layer(module_path: Path) -> tuple[str, int]:
    top = module_path.relative_to(SRC).parts[0].removesuffix(".py")
    return top, LAYERS[top]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [name for name in found if name == "evalbook" or name.startswith("evalbook.")]


def test_imports_point_down_the_layers() -> None:
    violations = []
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        _, rank = _layer(path)
        for name in _imports(path):
            parts = name.split(".")
            target = parts[1] if len(parts) > 1 else "__init__"
            if LAYERS[target] > rank:
                violations.append(f"{path.relative_to(SRC)} imports {name}")
    assert not violations, "\n".join(violations)


def test_core_imports_nothing_else_of_ours() -> None:
    for path in (SRC / "core").rglob("*.py"):
        for name in _imports(path):
            assert name.startswith(("evalbook.core", "evalbook.errors")), f"{path.name}: {name}"


def test_public_api_is_curated() -> None:
    assert sorted(evalbook.__all__) == sorted(set(evalbook.__all__))
    for name in evalbook.__all__:
        assert hasattr(evalbook, name), name
    assert {"run", "arun", "load_suite", "scorer", "provider", "Suite", "Case"} <= set(
        evalbook.__all__
    )


def test_files_stay_small() -> None:
    too_big = [
        str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if len(p.read_text().splitlines()) > 600
    ]
    assert not too_big, f"split these by concept: {too_big}"
