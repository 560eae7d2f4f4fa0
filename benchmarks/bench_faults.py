"""Cases lost to retryable faults: 1,000 cases against the local test server, 30% of all
requests failing with 429 (Retry-After 1 s) or 500, independently each time.

    python benchmarks/bench_faults.py                     # the default: a retry time budget
    python benchmarks/bench_faults.py --max-attempts 6    # the old policy, for comparison
    python benchmarks/bench_faults.py --n 2000 --fail-rate 0.5 --concurrency 64

Waits are real (``EVALBOOK_RETRY_SCALE`` is left alone), so the wall time shows what the
faults cost in time. Printed: cases, errored (lost) cases, faults injected, the most
attempts one case needed, and the wall time, with the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path


async def main(args: argparse.Namespace) -> None:
    import evalbook
    from evalbook.storage.store import Store
    from evalbook.suites import load_suite_from_dict
    from evalbook.testing import TestServerConfig, run_test_server_in_thread

    config = TestServerConfig(
        fail_rate=args.fail_rate,
        fault_kinds=("429", "500"),
        max_failures_per_key=1_000_000,  # independent faults: a key may fail any number
        retry_after=1,
        seed=args.seed,
    )
    with tempfile.TemporaryDirectory() as tmp, run_test_server_in_thread(config) as server:
        store = Store.open(f"sqlite:///{Path(tmp) / 'faults.db'}")
        suite = load_suite_from_dict(
            {
                "id": "faults",
                "model": {
                    "provider": "openai-compatible",
                    "name": "test-model",
                    "base_url": server.base_url,
                    "max_tokens": 8,
                },
                "prompt": "[[answer=yes]] question {{ i }}",
                "scorers": [{"equals": "yes"}],
                "cases": [{"id": f"c{i:05d}", "vars": {"i": i}} for i in range(args.n)],
            }
        )
        started = time.perf_counter()
        run = await evalbook.arun(
            suite,
            store=store,
            concurrency=args.concurrency,
            max_attempts=args.max_attempts,
            use_cache=False,
        )
        wall = time.perf_counter() - started
        most = max(len(r.attempts) for r in store.iter_results(run.id))
        faults = sum(server.faults.values())
        store.close()
    policy = f"max {args.max_attempts} attempts" if args.max_attempts else "retry budget 600 s"
    print(f"policy            {policy}")
    print(f"cases             {run.counts.total}")
    print(f"lost (errored)    {run.counts.errored}")
    print(f"faults injected   {faults} ({args.fail_rate:.0%} of requests)")
    print(f"most attempts     {most}")
    print(f"wall time         {wall:.1f} s at concurrency {args.concurrency}")
    print(f"load average      {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--fail-rate", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-attempts", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    asyncio.run(main(parser.parse_args()))
