"""Start-up: how long a command takes from process start to exit, and what it imports.

    python benchmarks/bench_startup.py            # 15 runs of each command
    python benchmarks/bench_startup.py --runs 30

Each command runs as a fresh process with an empty EVALBOOK_HOME. The figures: the minimum
and the median wall time (the minimum is the least disturbed by other load on the
machine), and the least CPU time (user + system), which other load disturbs far less. The
last column lists the heavy libraries the command had imported when it finished (read
from another run under ``sys.modules``): `--help` and `--version` should import none of
them. Target: `evalbook --help` ≤ 0.25 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = (
    "sqlalchemy",
    "alembic",
    "numpy",
    "scipy",
    "fastapi",
    "starlette",
    "httpx",
    "aiohttp",
    "openai",
    "anthropic",
    "jinja2",
)  # Typer itself imports pydantic and, to draw help, rich: those are not counted
COMMANDS = [
    ["--version"],
    ["--help"],
    ["run", "--help"],
    ["runs", "list"],
]
PROBE = """
import sys
from evalbook.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = {heavy!r}
print("\\nLOADED " + ",".join(m for m in heavy if m in sys.modules), file=sys.stderr)
"""


def _time(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _loaded(args: list[str], env: dict[str, str]) -> str:
    probe = PROBE.format(heavy=HEAVY)
    proc = subprocess.run(
        [sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True, check=False
    )
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("LOADED ")]
    return lines[-1].removeprefix("LOADED ") if lines else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("evalbook")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "EVALBOOK_HOME": home, "COLUMNS": "80"}
        env.pop("EVALBOOK_DATABASE_URL", None)
        print(f"{'command':32} {'wall min':>9} {'median':>8} {'CPU min':>8}  heavy imports")
        for label, argv in [("python -c pass", [sys.executable, "-c", "pass"])] + [
            ("evalbook " + " ".join(c), [str(script), *c]) for c in COMMANDS
        ]:
            _time(argv, env)  # warm the file cache (and create the database)
            runs = [_time(argv, env) for _ in range(args.runs)]
            walls, cpus = [w for w, _ in runs], [c for _, c in runs]
            loaded = _loaded(argv[1:], env) if argv[0] == str(script) else ""
            print(
                f"{label:32} {min(walls):8.3f}s {statistics.median(walls):7.3f}s"
                f" {min(cpus):7.3f}s  {loaded or '-'}"
            )


if __name__ == "__main__":
    main()
