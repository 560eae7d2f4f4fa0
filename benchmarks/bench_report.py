"""The single-run HTML report at 10,000 cases: time to write it, its size, and how long
Chromium takes to show it.

    python benchmarks/bench_report.py             # 10,000 cases
    python benchmarks/bench_report.py --n 2000

A run of N cases on the mock ``echo`` model (a third of them failing) is recorded in a
fresh SQLite database; then ``evalbook.io.report.write_report`` writes the report, and
headless Chromium (``/usr/bin/chromium``, when present) opens it from disk: the time to
the ``load`` event, and to open the last case and bring it into view.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import evalbook
from evalbook.io.report import write_report
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

CHROMIUM = Path("/usr/bin/chromium")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        suite = load_suite_from_dict(
            {
                "id": "report-bench",
                "model": "mock:echo",
                "prompt": "Question {{ i }}: what is {{ i }} plus one? Answer: {{ answer }}",
                "scorers": [{"contains": "{{ expected }}"}, "non-empty"],
                "cases": [
                    {"id": f"case-{i:05d}", "vars": {"i": i, "answer": i + (i % 3 == 0)},
                     "expected": str(i + 1), "section": f"s{i % 7}"}
                    for i in range(args.n)
                ],
            }
        )  # fmt: skip
        start = time.perf_counter()
        run = asyncio.run(evalbook.arun(suite, store=store, concurrency=100))
        print(f"recorded {args.n:,} cases in {time.perf_counter() - start:.1f} s")
        path = Path(tmp) / "report.html"
        start, cpu = time.perf_counter(), time.process_time()
        write_report(store, run.id, path)
        written, cpu = time.perf_counter() - start, time.process_time() - cpu
        store.close()
        size = path.stat().st_size / 1e6
        print(f"report written in {written:.2f} s ({cpu:.2f} s CPU), {size:.1f} MB")
        if CHROMIUM.exists():
            _browser(path, args.n)


def _browser(path: Path, n: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(path.as_uri(), wait_until="load", timeout=120_000)
        loaded = time.perf_counter() - start
        start = time.perf_counter()  # follow the link to the last case, as a reader would
        page.evaluate(
            "id => { const d = document.getElementById(id); d.open = true;"
            " d.scrollIntoView(); return d.getBoundingClientRect().height; }",
            f"case-case-{n - 1:05d}-0",
        )
        page.locator(f"#case-case-{n - 1:05d}-0 dl").wait_for()
        opened = time.perf_counter() - start
        browser.close()
    print(f"chromium: loaded in {loaded:.2f} s; last case opened in {opened * 1000:.0f} ms")


if __name__ == "__main__":
    main()
