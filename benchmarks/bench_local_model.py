"""The quickstart on the embedded model, on an idle machine and next to one busy core.

    python benchmarks/bench_local_model.py              # default threads, idle and busy
    python benchmarks/bench_local_model.py --threads 2  # compare another thread count
    python benchmarks/bench_local_model.py --repeat 3

Each measurement is a whole ``evalbook quickstart --no-cache --json`` in a fresh process
(start-up, model load, 18 cases, scoring, recording) against its own SQLite database. "Busy"
starts one core-bound Python process beside it (stopped by its PID afterwards), the
situation in which llama.cpp's spinning threads used to stall. Printed per setting: wall
seconds of the whole command, the run's own duration, the cases and the load average
before the measurement (a loaded machine is not an idle one; read the figures with it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUSY = "while True:\n    pass\n"


def quickstart(threads: int | None) -> tuple[float, dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "EVALBOOK_DATABASE_URL": f"sqlite:///{Path(tmp) / 'q.db'}"}
        if threads is not None:
            env["EVALBOOK_LOCAL_THREADS"] = str(threads)
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "evalbook", "quickstart", "--no-cache", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
        wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: the run finished below its threshold
        raise SystemExit(f"quickstart failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall, json.loads(proc.stdout)


def measure(threads: int | None, busy: bool) -> tuple[float, float, int, float]:
    load = os.getloadavg()[0]
    hog = subprocess.Popen([sys.executable, "-c", BUSY]) if busy else None
    try:
        if hog is not None:
            time.sleep(0.5)  # let it take its core
        wall, run = quickstart(threads)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    duration = float(run.get("duration_ms") or 0.0) / 1000
    counts = run.get("counts") or {}
    total = int(counts.get("total", 0)) if isinstance(counts, dict) else 0
    return wall, duration, total, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="EVALBOOK_LOCAL_THREADS")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    quickstart(args.threads)  # fetch the model once, warm the page cache
    label = f"threads={args.threads}" if args.threads else "threads=default"
    print(f"cores: {os.cpu_count()}   {label}")
    print(f"{'machine':<10}{'wall s':>9}{'run s':>9}{'cases':>7}{'load before':>13}")
    for busy in (False, True):
        for _ in range(args.repeat):
            wall, duration, total, load = measure(args.threads, busy)
            name = "busy core" if busy else "idle"
            print(f"{name:<10}{wall:>9.1f}{duration:>9.1f}{total:>7}{load:>13.2f}")


if __name__ == "__main__":
    main()
