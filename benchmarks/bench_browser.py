"""Pages at once against a website: 1 page vs 4 pages on the fake chat site.

    python benchmarks/bench_browser.py              # 32 cases, 1 and 4 pages
    python benchmarks/bench_browser.py --n 100 --pages 1 2 4 8

Each answer streams token by token with random pauses (40-120 ms, 20 tokens, so about
1.6 s of streaming, short for a chat product) and is read once the typing marker is gone
and the text has been still for 150 ms: the site's time dominates, as on a real product,
and the provider's job is to keep several conversations going at once. Every run must
score exactly 1.0 (each answer read whole) or the benchmark fails. Printed: wall time
per page count, seconds per case, the speed-up over one page, and the site's peak
concurrent streams. The browser starts once per run (its start-up, 1-3 s, is included).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=32, help="cases per run")
    parser.add_argument("--pages", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="evalbook-bench-browser-"))
    os.environ["EVALBOOK_HOME"] = str(home)

    from evalbook.api import arun
    from evalbook.storage.store import Store
    from evalbook.suites import load_suite_from_dict
    from evalbook.testing.chat_site import ChatSiteConfig, run_chat_site_in_thread

    load = os.getloadavg()
    print(f"load: {load[0]:.2f} {load[1]:.2f} (1, 5 min); cpus: {os.cpu_count()}")
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    words += ["iota", "kappa", "lambda", "mu"]
    rows = []
    with run_chat_site_in_thread(ChatSiteConfig(pause_ms=(40.0, 120.0), seed=1)) as site:
        for pages in args.pages:
            site.max_streaming = 0
            answers = [
                f"{i}: " + " ".join(words[(i + k) % 12] for k in range(19)) for i in range(args.n)
            ]
            suite = load_suite_from_dict(
                {
                    "id": f"bench-browser-{pages}",
                    "model": {
                        "provider": "browser",
                        "profile": {
                            "url": site.url,
                            "new_chat": "#new-chat",
                            "input": "#prompt",
                            "response": ".message.assistant",
                            "streaming": ".typing",
                            "done": {"settle_ms": 150},
                            "max_pages": pages,
                            "timeout_s": 60,
                        },
                    },
                    "prompt": f"run {pages} q {{{{ i }}}} [[answer={{{{ a }}}}]]",
                    "scorers": [{"equals": "{{ expected }}"}],
                    "cases": [
                        {"id": f"c{i}", "vars": {"i": i, "a": a}, "expected": a}
                        for i, a in enumerate(answers)
                    ],
                }
            )
            store = Store.open(f"sqlite:///{home / f'bench-{pages}.db'}")
            t0 = time.perf_counter()
            run = asyncio.run(arun(suite, store=store, concurrency=pages, use_cache=False))
            wall = time.perf_counter() - t0
            store.close()
            if run.score != 1.0 or run.counts.passed != args.n:
                print(f"FAILED: {pages} pages scored {run.score} ({run.counts})", file=sys.stderr)
                return 1
            rows.append((pages, wall, site.max_streaming))
    base = rows[0][1]
    print(f"{'pages':>5} {'wall s':>8} {'s/case':>7} {'speed-up':>8} {'peak streams':>12}")
    for pages, wall, peak in rows:
        print(f"{pages:>5} {wall:>8.2f} {wall / args.n:>7.3f} {base / wall:>7.2f}x {peak:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
