"""Executor speed: every figure of the executor's targets, in one command.

    python benchmarks/bench_executor.py            # first request, whole runs, cached path
    python benchmarks/bench_executor.py --big      # + 100,000 cases at C=100 and cached
    python benchmarks/bench_executor.py --n 1000 --c 20   # one whole-run scenario
    python benchmarks/bench_executor.py --dataset-mb 200  # load a 200 MB JSONL dataset
    python benchmarks/bench_executor.py --dataset-mb 200 --dataset-run --c 100  # + a real run

Figures (the test server answers every request after 50 ms, exact-match scorers):

- **first request**: `evalbook run SUITE.yaml --base-url …` started as a fresh process on a
  suite whose 1,000 cases sit in a JSONL dataset; seconds from the process start to the
  first request the test server sees (target ≤ 0.3 s; with --big also at 100,000 cases,
  target ≤ 0.5 s). The modules' bytecode is cached as an installation has it (the
  warm-up run writes it under a temporary PYTHONPYCACHEPREFIX); --source-compiled keeps
  the environment's settings (with PYTHONDONTWRITEBYTECODE=1 and a source tree, every
  evalbook module is compiled again at each start).
- **whole runs**: N cases at concurrency C; wall time of the run itself (in a process
  that has loaded evalbook's API and its HTTP client: imports are start-up, counted in
  `load s` and `first req s`), the floor ceil(N/C) × latency,
  evalbook's CPU ms per case (the marginal cost; target ≤ 0.3), seconds from the
  scenario's process start to its first model request (`first req s`: imports, loading
  the suite, recording it and the run; target ≤ 0.5 s at any size) and peak RSS (target
  at 100,000 cases: ≤ 200 MB, on SQLite and with --postgresql).
- **a big dataset** (--dataset-mb): a JSONL dataset of that many MB (1 KB rows) loaded,
  hashed and recorded as a run records it; seconds and peak RSS (it must not take
  gigabytes). With --dataset-run, also a real streamed `evalbook run` of it (test server
  at 1 ms, concurrency --c): wall seconds and that process's peak RSS.
- **cached path**: a fully cached re-run of the same cases; wall time and CPU ms per hit
  (targets: 1,000 ≤ 0.4 s, 100,000 ≤ 10 s, ≤ 0.1 ms per hit). From 2,000 results on a
  run's results are written by a process of their own (``EVALBOOK_WRITER_PROCESS_AFTER``;
  ``off`` to compare): its CPU and peak RSS are printed apart.

The test server runs in its own process (for the first-request figure, in a thread of
this one) so its CPU is not counted. Each scenario runs in a fresh subprocess with a fresh
SQLite database (``--postgresql`` uses the database of EVALBOOK_DATABASE_URL), so peak RSS
is its own. The suites are YAML files with a JSONL dataset, loaded as a user's would be.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

STANDARD = [
    {"n": 1000, "c": 20, "cached_rerun": True},
    {"n": 1000, "c": 100},
    {"n": 10000, "c": 100},
]
BIG = [{"n": 100000, "c": 100, "cached_rerun": True}]


def write_suite(folder: Path, n: int, base_url: str, c: int) -> Path:
    """A suite file with ``n`` cases in a JSONL dataset beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "cases.jsonl", "w") as fh:
        for i in range(n):
            answer = "yes" if i % 2 else "no"
            fh.write(json.dumps({"id": f"c{i}", "i": i, "answer": answer}) + "\n")
    suite = folder / "suite.yaml"
    suite.write_text(
        f"id: bench-{n}\n"
        "name: bench\n"
        "model:\n"
        "  provider: openai-compatible\n"
        "  name: test-model\n"
        f"  base_url: {base_url}\n"
        "  temperature: 0\n"
        f"  max_connections: {c}\n"
        'prompt: "[[answer={{ answer }}]] question number {{ i }}"\n'
        "scorers: [{equals: 'yes'}, {contains: 'y'}]\n"
        "cases:\n"
        "  - file: cases.jsonl\n"
    )
    return suite


def start_server(latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    port_file = Path(tempfile.mkdtemp()) / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evalbook.testing.openai_server",
            "--port",
            "0",
            "--latency-ms",
            str(latency_ms),
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text().strip():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text().strip()}/v1"


def machine_s() -> float:
    """Seconds this machine takes for 5 M additions in Python, on two cores at once (the
    run's process and its writer process share them): printed before and after the
    figures, which move with it (on a shared 2-core machine, by a third within a day)."""
    loop = "import time; t = time.perf_counter(); s = 0\nfor i in range(5_000_000): s += i\n"
    loop += "print(time.perf_counter() - t)"
    both = [
        subprocess.Popen([sys.executable, "-c", loop], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    return max(float(p.communicate()[0]) for p in both)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def watch_children(peaks: list[float], stop: threading.Event) -> None:
    """Append the peak RSS (MB) of each child process of this one, every 0.2 s."""
    me = str(os.getpid())
    while not stop.wait(0.2):
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if stat.read_text().rsplit(")", 1)[1].split()[1] != me:
                    continue
                status = (stat.parent / "status").read_text()
            except (OSError, IndexError):
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)


def children_cpu_s() -> float:
    """CPU seconds of this process's reaped children (a run's results writer process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def scenario(
    n: int,
    c: int,
    base_url: str,
    latency_ms: float,
    cached_rerun: bool,
    db_url: str | None,
    folder: Path,
    spawned: float,
) -> dict[str, object]:
    """Runs in a child process: one suite of ``n`` cases (written by the parent into
    ``folder``), optionally a cached re-run. ``spawned``: when the parent started it."""
    path = folder / "suite.yaml"
    t_load = time.perf_counter()
    # The public entry point's and the provider's modules load here (counted in "load s"
    # and in "first req s"), so "wall s" is the run's own time, comparable with its floor.
    import evalbook
    import evalbook.api
    import evalbook.providers.openai_compat  # (the provider, with its plain-HTTP client)
    from evalbook.executor.events import ItemDone, ItemStarted
    from evalbook.storage.store import Store
    from evalbook.suites import load_suite

    suite = load_suite(path)
    store = Store.open(db_url or f"sqlite:///{folder}/bench.db")
    load_s = time.perf_counter() - t_load
    if db_url:  # a database every scenario shares: no answers cached by an earlier one
        store.cache_clear()
    # The peak RSS of the run's results writer process (``executor/writer_process.py``):
    # its own (VmHWM), read while it lives; its ``ru_maxrss`` counts the parent's pages
    # it was forked with.
    children_peak: list[float] = []
    watching = threading.Event()
    threading.Thread(target=watch_children, args=(children_peak, watching), daemon=True).start()
    cpu0, t0 = time.process_time(), time.perf_counter()
    samples: list[tuple[int, float]] = []
    done = 0
    sample_every = max(n // 10, 1)
    first_started: list[float] = []

    def on_event(event: object) -> None:
        nonlocal done
        if isinstance(event, ItemStarted) and not first_started:
            first_started.append(time.time() - spawned)
        if isinstance(event, ItemDone):
            done += 1
            if done % sample_every == 0:
                samples.append((done, current_rss_mb()))

    run = asyncio.run(evalbook.arun(suite, store=store, concurrency=c, on_event=on_event))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert run.counts.total == n and run.counts.errored == 0, run.counts
    out: dict[str, object] = {
        "n": n,
        "c": c,
        "wall_s": wall,
        "load_s": load_s,
        "first_request_s": first_started[0],
        "floor_s": math.ceil(n / c) * latency_ms / 1000,
        "cpu_ms_per_case": cpu * 1000 / n,
        "peak_rss_mb": rss_mb(),
        "rss_samples": samples,
        "score": run.score,
    }
    if cached_rerun:
        cpu1, t1, child1 = time.process_time(), time.perf_counter(), children_cpu_s()
        again = asyncio.run(evalbook.arun(suite, store=store, concurrency=c))
        out["cached_rerun_s"] = time.perf_counter() - t1
        out["cached_cpu_ms_per_hit"] = (time.process_time() - cpu1) * 1000 / n
        out["cached_writer_cpu_ms_per_hit"] = (children_cpu_s() - child1) * 1000 / n
        assert again.counts.cached == n, again.counts
        assert again.score == run.score
        out["peak_rss_mb_after_cached"] = rss_mb()
    store.close()
    watching.set()
    out["writer_peak_rss_mb"] = max(children_peak, default=0.0)
    return out


def big_dataset(megabytes: int, db_url: str | None) -> dict[str, object]:
    """Runs in a child process: write a JSONL dataset of ``megabytes`` MB (1 KB rows), then
    load it, hash it and record it as a run does; seconds and peak RSS of the loading."""
    folder = Path(tempfile.mkdtemp())
    filler = "lorem ipsum dolor sit amet " * 36  # ~1 KB a row
    rows = megabytes * 1024
    with open(folder / "cases.jsonl", "w") as fh:
        for i in range(rows):
            fh.write(json.dumps({"id": f"c{i}", "i": i, "text": filler, "answer": "yes"}) + "\n")
    # An id of its own: a database used before (PostgreSQL's) does not hold it already.
    (folder / "suite.yaml").write_text(
        f"id: big-dataset-{os.urandom(4).hex()}\nprompt: '{{{{ text }}}} {{{{ i }}}}'\n"
        "scorers: [{equals: yes}]\ncases:\n  - file: cases.jsonl\n"
    )
    size_mb = (folder / "cases.jsonl").stat().st_size / 2**20
    # 200 MB of rows are ~234 MB as a recorded definition: over the default limit of 200
    # MiB, under PostgreSQL's ~255 MiB; what is measured here is the memory it takes.
    os.environ.setdefault("EVALBOOK_MAX_SUITE_BYTES", str(250 * 2**20))
    rss_before = rss_mb()
    t0 = time.perf_counter()
    from evalbook.core.model_config import parse_model_spec
    from evalbook.storage.store import Store
    from evalbook.suites import load_suite

    suite = load_suite(folder / "suite.yaml")
    load_s = time.perf_counter() - t0
    store = Store.open(db_url or f"sqlite:///{folder}/bench.db")
    model = parse_model_spec("openai-compatible:test-model")
    t1 = time.perf_counter()
    suite_hash = store.save_definitions(
        suite, suite.prompt.name, suite.prompt.latest, model, workspace_id="default"
    )
    record_s = time.perf_counter() - t1
    store.close()
    return {
        "folder": str(folder),
        "file_mb": size_mb,
        "cases": len(suite.cases),
        "load_s": load_s,
        "record_s": record_s,
        "hash": suite_hash,
        "rss_before_mb": rss_before,
        "peak_rss_mb": rss_mb(),
    }


def dataset_run(folder: Path, db_url: str | None, c: int) -> tuple[float, float]:
    """A real streamed `evalbook run` of the big dataset's suite (in ``folder``) against
    the test server at 1 ms: wall seconds and the peak RSS of that process (MB)."""
    # Another suite id than the loading's: the run records its suite itself, as a first
    # run does (on PostgreSQL the loading recorded its own in the same database).
    suite = folder / "suite.yaml"
    suite.write_text(suite.read_text().replace("id: big-dataset-", "id: big-dataset-run-", 1))
    server, base_url = start_server(1)
    env = {
        **os.environ,
        "EVALBOOK_HOME": str(folder / "home"),
        "EVALBOOK_MAX_SUITE_BYTES": str(250 * 2**20),
        "EVALBOOK_DATABASE_URL": db_url or f"sqlite:///{folder}/run.db",
    }
    script = Path(sys.executable).with_name("evalbook")
    command = [str(script), "run", str(folder / "suite.yaml"), "-c", str(c), "--no-cache"]
    command += ["--model", "openai-compatible:test-model", "--base-url", base_url]
    try:
        start = time.monotonic()
        with open(folder / "run.err", "wb") as err:
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        server.terminate()
        server.wait()
    if proc.returncode not in (0, 100):  # 100: ran, below the suite's threshold
        tail = (folder / "run.err").read_text()[-2000:]
        raise RuntimeError(f"evalbook run exited {proc.returncode}: {tail}")
    return wall, usage.ru_maxrss / 1024


def first_request(
    n: int, latency_ms: float, runs: int, source_compiled: bool = False
) -> list[float]:
    """Seconds from starting ``evalbook run`` to the test server's first request, with
    the modules' bytecode cached as an installation has it (``source_compiled``: as the
    environment says, e.g. compiled from source at every start)."""
    from evalbook.testing.openai_server import TestServerConfig, run_test_server_in_thread

    script = Path(sys.executable).with_name("evalbook")
    cfg = TestServerConfig(latency_ms=latency_ms)
    seconds: list[float] = []
    with run_test_server_in_thread(cfg) as server:
        folder = Path(tempfile.mkdtemp())
        path = write_suite(folder, n, server.base_url, 100)
        env = {**os.environ, "EVALBOOK_HOME": str(folder / "home")}
        if "EVALBOOK_DATABASE_URL" not in os.environ:
            env["EVALBOOK_DATABASE_URL"] = f"sqlite:///{folder}/first.db"
        if not source_compiled:
            # As installed (pip compiles a wheel's modules once): the warm-up run writes
            # the bytecode. A source tree run with PYTHONDONTWRITEBYTECODE=1 compiles
            # every evalbook module again at each start (a quarter of the instructions
            # before the first request at 1,000 cases).
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        # one run first: creates the database, the bytecode, and warms the file cache
        for i in range(runs + 1):
            server.reset()
            start = time.monotonic()
            proc = subprocess.run(
                [str(script), "run", str(path), "-c", "100", "--no-cache", "--json"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                check=False,
            )
            if proc.returncode not in (0, 100):  # 100: ran, below the suite's threshold
                raise RuntimeError(proc.stderr.decode())
            with server._lock:
                first = min(server._started)
            if i:
                seconds.append(first - start)
    return seconds


def run_child(args: list[str]) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr)
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def print_first_request(n: int, latency_ms: float, runs: int, source_compiled: bool) -> None:
    s = sorted(first_request(n, latency_ms, runs, source_compiled))
    how = "bytecode as the environment has it" if source_compiled else "bytecode cached"
    print(
        f"first request of `evalbook run` ({n:,} cases in JSONL, {how}): min {s[0]:.3f} s,"
        f" median {s[len(s) // 2]:.3f} s over {len(s)} runs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int)
    parser.add_argument("--c", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--cached-rerun", action="store_true")
    parser.add_argument("--big", action="store_true", help="also 100,000 cases at C=100")
    parser.add_argument("--first-runs", type=int, default=5, help="runs of the first request")
    parser.add_argument("--first-only", action="store_true", help="only the first request")
    parser.add_argument(
        "--source-compiled",
        action="store_true",
        help="first request: keep the environment's bytecode settings (by default the"
        " modules' bytecode is cached, as in an installation)",
    )
    parser.add_argument("--postgresql", action="store_true", help="EVALBOOK_DATABASE_URL")
    parser.add_argument("--dataset-mb", type=int, help="only: load a JSONL dataset of this size")
    parser.add_argument(
        "--dataset-run",
        action="store_true",
        help="with --dataset-mb: also time a streamed `evalbook run` of it (peak RSS)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--spawned", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("EVALBOOK_HOME", tempfile.mkdtemp())
    db_url = os.environ.get("EVALBOOK_DATABASE_URL") if args.postgresql else None
    if not args.postgresql:
        os.environ.pop("EVALBOOK_DATABASE_URL", None)

    if args.child:
        if args.dataset_mb:
            print(json.dumps(big_dataset(args.dataset_mb, db_url)))
            return
        out = scenario(
            args.n,
            args.c,
            args.base_url,
            args.latency_ms,
            args.cached_rerun,
            db_url,
            Path(args.folder),
            args.spawned,
        )
        print(json.dumps(out))
        return

    if args.dataset_mb:
        child_args = ["--dataset-mb", str(args.dataset_mb)]
        r = run_child([*child_args, "--postgresql"] if args.postgresql else child_args)
        print(
            f"a {r['file_mb']:.0f} MB JSONL dataset ({r['cases']:,} cases): loaded in"
            f" {r['load_s']:.1f} s, recorded in {r['record_s']:.1f} s; peak RSS"
            f" {r['peak_rss_mb']:.0f} MB ({r['rss_before_mb']:.0f} MB before loading)"
        )
        if args.dataset_run:
            wall, peak = dataset_run(Path(str(r["folder"])), db_url, args.c)
            print(
                f"`evalbook run` of it (test server at 1 ms, C={args.c}): {wall:.0f} s,"
                f" peak RSS {peak:.0f} MB"
            )
        return

    if args.n:
        plan = [{"n": args.n, "c": args.c, "cached_rerun": args.cached_rerun}]
    else:
        print_first_request(1000, args.latency_ms, args.first_runs, args.source_compiled)
        if args.big:
            print_first_request(100000, args.latency_ms, 1, args.source_compiled)
        if args.first_only:
            return
        plan = STANDARD + (BIG if args.big else [])
    server, base_url = start_server(args.latency_ms)
    speed = machine_s()
    try:
        print(
            f"{'N':>7} {'C':>4} {'wall s':>8} {'floor s':>8} {'wall/floor':>10}"
            f" {'CPU ms/case':>12} {'load s':>7} {'first req s':>11} {'peak RSS MB':>12}"
        )
        for p in plan:
            folder = Path(tempfile.mkdtemp())
            write_suite(folder, int(p["n"]), base_url, int(p["c"]))
            child_args = [
                "--folder",
                str(folder),
                "--n",
                str(p["n"]),
                "--c",
                str(p["c"]),
                "--latency-ms",
                str(args.latency_ms),
                "--base-url",
                base_url,
            ]
            if args.postgresql:
                child_args.append("--postgresql")
            if p.get("cached_rerun"):
                child_args.append("--cached-rerun")
            r = run_child([*child_args, "--spawned", repr(time.time())])
            print(
                f"{r['n']:>7} {r['c']:>4} {r['wall_s']:>8.2f} {r['floor_s']:>8.2f}"
                f" {r['wall_s'] / r['floor_s']:>10.2f} {r['cpu_ms_per_case']:>12.3f}"
                f" {r['load_s']:>7.2f} {r['first_request_s']:>11.2f} {r['peak_rss_mb']:>12.1f}"
            )
            if "cached_rerun_s" in r:
                writer_cpu = r["cached_writer_cpu_ms_per_hit"]
                print(
                    f"        fully cached re-run of {r['n']} cases: {r['cached_rerun_s']:.2f} s,"
                    f" {r['cached_cpu_ms_per_hit']:.3f} ms CPU per hit"
                    + (f" (+ {writer_cpu:.3f} in the writer process)" if writer_cpu else "")
                    + f", peak RSS {r['peak_rss_mb_after_cached']:.0f} MB"
                )
            if r["writer_peak_rss_mb"]:
                print(
                    "        the run's results writer process (a run of over 2,000 results):"
                    f" peak RSS {r['writer_peak_rss_mb']:.0f} MB"
                )
            if r["n"] >= 50000:  # type: ignore[operator]
                samples = r["rss_samples"]
                assert isinstance(samples, list)
                print(
                    "        RSS (MB) as items finish: "
                    + ", ".join(f"{k // 1000}k={mb:.0f}" for k, mb in samples)
                )
        print(
            f"machine: 5 M additions on each of two cores at once took {speed:.2f} s before"
            f" these figures, {machine_s():.2f} s after"
        )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
