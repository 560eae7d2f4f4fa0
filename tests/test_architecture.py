"""The package's shape: imports point down the layers of ARCHITECTURE.md (never to a peer),
apps meet only at their composition roots, ``analysis`` never reaches the executor, route
modules stand alone, the server queues runs only through its dispatcher. Each rule is
also shown to catch a planted violation."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

import pytest

import evalbook

SRC = Path(evalbook.__file__).parent
ARCHITECTURE = Path(__file__).parents[1] / "ARCHITECTURE.md"

# Lower numbers are lower layers; a module may import its own package or lower layers only.
LAYERS = {
    "errors": 0, "_version": 0, "plain_text": 0,
    "core": 1,
    "config": 2, "stats": 2,
    "prompts": 3, "providers": 3, "scorers": 3, "testing": 3, "quickstart": 3,
    "suites": 4,
    "storage": 5,
    "executor": 6,
    "analysis": 7, "importers": 7, "webhooks": 7,
    "gate": 8, "io": 8,
    "api": 9,
    "__init__": 10,
    "cli": 11, "server": 11, "worker": 11,
    "__main__": 12,
}  # fmt: skip

#: The only modules where one app imports another: they compose the app they start.
COMPOSITION_ROOTS = {
    "cli/serve.py": {"server"},
    "cli/view.py": {"server"},
    "cli/worker.py": {"worker"},
    "server/services.py": {"worker"},
}

#: Imports no rank allows: ``analysis`` only reads, so it never reaches the executor.
FORBIDDEN = {("analysis", "executor")}

#: What only a dispatcher does with the queue: the server goes through its ``dispatcher``.
DISPATCH_ONLY = {
    "evalbook.storage.queue": {"mark_queued", "request_cancel", "claim"},
    "evalbook.storage.runs": {"requeue"},
}

#: Route modules share these; they never import one another.
ROUTES = ("server", "routes")
ROUTE_SHARED = {"_common", "__init__"}
#: Web pages, which share with the routes only what routes share with one another.
PAGES = ("server", "web", "pages")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [name for name in found if name == "evalbook" or name.startswith("evalbook.")]


def _modules(src: Path) -> list[Path]:
    return [p for p in src.rglob("*.py") if "migrations" not in p.parts]


def _top(src: Path, path: Path) -> str:
    return path.relative_to(src).parts[0].removesuffix(".py")


def layer_violations(src: Path) -> list[str]:
    """Imports upward or to a peer of the same rank (composition roots excepted)."""
    found = []
    for path in _modules(src):
        top = _top(src, path)
        rel = path.relative_to(src).as_posix()
        for name in _imports(path):
            parts = name.split(".")
            target = parts[1] if len(parts) > 1 else "__init__"
            if target == top or target in COMPOSITION_ROOTS.get(rel, set()):
                continue
            if LAYERS[target] >= LAYERS[top] or (top, target) in FORBIDDEN:
                found.append(f"{rel} imports {name}")
    return found


def route_violations(src: Path) -> list[str]:
    """Route modules importing a sibling route, and pages importing a route: what both
    need lives below them (``server/product_graph.py``, ``storage``, ``analysis``)."""
    found = []
    routes = [p for p in src.joinpath(*ROUTES).glob("*.py") if p.stem not in ROUTE_SHARED]
    for path in routes + sorted(src.joinpath(*PAGES).glob("*.py")):
        prefix = "evalbook." + ".".join(ROUTES) + "."
        for name in _imports(path):
            if name.startswith(prefix) and name[len(prefix) :].split(".")[0] not in ROUTE_SHARED:
                found.append(f"{path.relative_to(src).as_posix()} imports {name}")
    return found


def dispatch_violations(src: Path) -> list[str]:
    """Server modules queueing, canceling or re-queueing runs around the dispatcher."""
    found = []
    for path in (src / "server").rglob("*.py"):
        rel = path.relative_to(src).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue
            names = {alias.name for alias in node.names}
            if names & DISPATCH_ONLY.get(node.module, set()):
                found.append(f"{rel} imports {sorted(names & DISPATCH_ONLY[node.module])}")
            if node.module == "evalbook.storage" and "queue" in names:
                found.append(f"{rel} imports evalbook.storage.queue")
    return found


def private_store_violations(src: Path) -> list[str]:
    """Modules other than ``storage/store.py`` reaching into a store's private members
    (``store._writer``): the query modules use its public ``write``/``read``/``insert``."""
    found = []
    for path in _modules(src):
        rel = path.relative_to(src).as_posix()
        if rel == "storage/store.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
                continue
            if node.attr.startswith("__"):
                continue
            owner = node.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if name == "store":
                found.append(f"{rel}:{node.lineno} uses store.{node.attr}")
    return found


#: Where a database transaction may be opened or committed by hand.
TRANSACTION_HOMES = {"storage/store.py", "storage/db.py"}


def transaction_violations(src: Path) -> list[str]:
    """Writes outside ``Store.write``: ``engine.begin()`` or ``.commit()`` anywhere else.
    On SQLite, the writers of one process queue on a lock that ``Store.write`` takes; a
    write that took SQLite's own lock around it could keep them waiting for the whole busy
    timeout."""
    found = []
    for path in _modules(src):
        rel = path.relative_to(src).as_posix()
        if rel in TRANSACTION_HOMES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if node.func.attr == "commit" or (node.func.attr == "begin" and name == "engine"):
                found.append(f"{rel}:{node.lineno} calls {name}.{node.func.attr}()")
    return found


def test_every_write_goes_through_store_write() -> None:
    assert transaction_violations(SRC) == []


def test_imports_point_down_the_layers() -> None:
    assert set(LAYERS) >= {_top(SRC, p) for p in _modules(SRC)}, "rank the new package"
    violations = layer_violations(SRC)
    assert not violations, "\n".join(violations)


def test_route_modules_do_not_import_each_other() -> None:
    violations = route_violations(SRC)
    assert not violations, "\n".join(violations)


def test_the_server_hands_runs_to_its_dispatcher() -> None:
    violations = dispatch_violations(SRC)
    assert not violations, "\n".join(violations)


def test_only_the_store_touches_its_private_members() -> None:
    violations = private_store_violations(SRC)
    assert not violations, "\n".join(violations)


def test_core_imports_nothing_else_of_ours() -> None:
    for path in (SRC / "core").rglob("*.py"):
        for name in _imports(path):
            assert name.startswith(("evalbook.core", "evalbook.errors")), f"{path.name}: {name}"


def test_architecture_md_lists_the_same_layers() -> None:
    text = ARCHITECTURE.read_text()
    block = text.split("## Layers", 1)[1].split("```", 2)[1]
    documented = {
        package: int(rank)
        for rank, packages in re.findall(r"^(\d+)\s+(.+)$", block, re.M)
        for package in packages.split()
    }
    assert documented == LAYERS
    for root in COMPOSITION_ROOTS:
        assert f"`{root}`" in text, f"ARCHITECTURE.md does not name the composition root {root}"


def test_files_stay_small() -> None:
    too_big = [
        str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if len(p.read_text().splitlines()) > 600
    ]
    assert not too_big, f"split these by concept: {too_big}"


# -- each rule catches a planted violation --------------------------------------------------


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    src = tmp_path / "evalbook"
    for rel, code in files.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    return src


@pytest.mark.parametrize(
    ("files", "check", "caught"),
    [
        pytest.param(
            {"storage/bad.py": "from evalbook.executor.launch import execute\n"},
            layer_violations,
            "storage/bad.py imports evalbook.executor.launch",
            id="upward",
        ),
        pytest.param(
            {"gate/bad.py": "import evalbook.io.export\n"},
            layer_violations,
            "gate/bad.py imports evalbook.io.export",
            id="peer",
        ),
        pytest.param(
            {"server/routes/runs.py": "from evalbook.worker.pool import WorkerPool\n"},
            layer_violations,
            "server/routes/runs.py imports evalbook.worker.pool",
            id="app-imports-app",
        ),
        pytest.param(
            {"analysis/bad.py": "from evalbook.executor.rescore import rescore\n"},
            layer_violations,
            "analysis/bad.py imports evalbook.executor.rescore",
            id="analysis-writes",
        ),
        pytest.param(
            {"server/routes/runs.py": "from evalbook.server.routes.evals import router\n"},
            route_violations,
            "server/routes/runs.py imports evalbook.server.routes.evals",
            id="sibling-route",
        ),
        pytest.param(
            {"server/web/pages/graph.py": "from evalbook.server.routes.graph import g\n"},
            route_violations,
            "server/web/pages/graph.py imports evalbook.server.routes.graph",
            id="page-imports-route",
        ),
        pytest.param(
            {"server/routes/runs.py": "from evalbook.storage.queue import request_cancel\n"},
            dispatch_violations,
            "server/routes/runs.py imports ['request_cancel']",
            id="around-the-dispatcher",
        ),
        pytest.param(
            {"storage/bad.py": "def f(store):\n    with store._writer.begin():\n        pass\n"},
            private_store_violations,
            "storage/bad.py:2 uses store._writer",
            id="store-private",
        ),
        pytest.param(
            {"storage/bad.py": "def f(store):\n    with store.engine.begin():\n        pass\n"},
            transaction_violations,
            "storage/bad.py:2 calls engine.begin()",
            id="write-around-store-write",
        ),
    ],
)
def test_each_rule_catches_a_planted_violation(
    tmp_path: Path, files: dict[str, str], check: Callable[[Path], list[str]], caught: str
) -> None:
    assert check(_plant(tmp_path, files)) == [caught]


def test_composition_roots_and_shared_route_modules_are_allowed(tmp_path: Path) -> None:
    src = _plant(
        tmp_path,
        {
            "server/services.py": "from evalbook.worker.pool import WorkerPool\n",
            "server/routes/runs.py": "from evalbook.server.routes._common import StoreDep\n",
            "analysis/ok.py": "from evalbook.storage.store import Store\n",
        },
    )
    assert layer_violations(src) == [] and route_violations(src) == []
    assert dispatch_violations(src) == [] and private_store_violations(src) == []
    assert transaction_violations(src) == []
