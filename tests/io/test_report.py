"""The HTML report: self-contained (no external resource), escaped, every section present —
and it renders in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import evalbook
from evalbook.io.report import render_report, write_report
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

from ..analysis.seed import seed_runs

CHROMIUM = Path("/usr/bin/chromium")
SECTIONS = ("summary", "metrics", "sections", "latency", "trend", "flips", "diffs")
EXTERNAL = re.compile(
    r"""(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""",
    re.I,
)


def _assert_self_contained(html: str) -> None:
    assert not EXTERNAL.search(html)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert "<svg" in html and "<style>" in html


async def test_report_with_comparison(store: Store) -> None:
    runs = await seed_runs(store, (4, 5), n=12)
    html = render_report(store, runs[5], baseline=runs[4])
    _assert_self_contained(html)
    for section in SECTIONS:
        assert f'id="{section}"' in html, section
    assert "Flips: 4 newly failing, 0 newly passing" in html
    assert "(<del>v4</del><ins>v5</ins>)" in html  # the word diff of the prompts
    assert "faithfulness" in html and "wilcoxon" in html and "mcnemar" in html
    assert html.count("<rect") > 10  # section, scorer and latency bars


async def test_report_of_one_run_and_escaping(store: Store) -> None:
    suite = load_suite_from_dict(
        {
            "id": "xss",
            "model": "mock:echo",
            "prompt": {
                "name": "xss",
                "versions": {
                    v: {"template": "<script>alert('" + word + "')</script> {{ i }}"}
                    for v, word in ((1, "ok"), (2, "bad"))
                },
            },
            "scorers": [{"contains": "ok"}],
            "cases": [{"id": f"c{i}", "vars": {"i": i}, "section": "s"} for i in range(3)],
        }
    )
    a = await evalbook.arun(suite, store=store, prompt_version=1)
    b = await evalbook.arun(suite, store=store, prompt_version=2)
    single = render_report(store, a.id)
    _assert_self_contained(single)
    assert 'id="summary"' in single and 'id="flips"' not in single
    compared = render_report(store, b.id, baseline=a.id)
    _assert_self_contained(compared)  # model output is escaped, never markup
    assert "&lt;script&gt;" in compared and "Flips: 3 newly failing" in compared


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (CI installs it)")
async def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'report.db'}")  # one database is enough here
    try:
        runs = await seed_runs(store, (4, 5), n=40)
        page = write_report(store, runs[5].id, tmp_path / "report.html", baseline=runs[4].id)
    finally:
        store.close()
    shot = tmp_path / "report.png"
    profile = tempfile.mkdtemp()
    try:
        subprocess.run(
            [
                str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", f"--user-data-dir={profile}", f"--screenshot={shot}",
                "--window-size=1280,2000", page.as_uri(),
            ],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2000)
    assert len(data) > 50_000  # a rendered page, not a blank one (a blank PNG is ~10 kB)


async def test_report_of_one_run_lists_every_case_folded(store: Store) -> None:
    from ..storage.feedback_runs import reviewed_run

    run = await reviewed_run(store)
    html = render_report(store, run.id)
    _assert_self_contained(html)
    assert 'id="cases"' in html
    cases = re.findall(r'<details class="case" id="case-(c\d)-0">', html)
    assert cases == ["c0", "c1", "c2", "c3"]  # plan order, each folded (no "open")
    first = html[html.index('id="case-c0-0"') : html.index('id="case-c1-0"')]
    assert "<dt>input</dt>" in first and "answer 0 judge=1.0" in first  # the rendered prompt
    assert "<dt>output</dt>" in first
    for name in ("contains", "human", "fake-judge"):
        assert f"<dt>{name}</dt>" in first, name
    assert "awaiting review" in first  # the human scorer has no score yet
    assert "&#34;criterion&#34;: &#34;helpfulness&#34;" in first  # the judge's evidence
    assert "Cases: 4 recorded" in html


async def test_report_cases_are_escaped_and_long_texts_clipped(store: Store) -> None:
    long = "<b>x</b>" * 1000
    suite = load_suite_from_dict(
        {
            "id": "clip",
            "model": "mock:echo",
            "prompt": "{{ text }}",
            "scorers": [{"contains": "nothing-like-this"}],
            "cases": [{"id": "long", "vars": {"text": long}, "expected": "<i>y</i>"}],
        }
    )
    run = await evalbook.arun(suite, store=store)
    html = render_report(store, run.id)
    _assert_self_contained(html)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "4,000 more characters)" in html  # 8,000 characters shown as the first 4,000
    assert "&lt;i&gt;y&lt;/i&gt;" in html
    assert 'Failed or errored: <a href="#case-long-0"><code>long</code></a>' in html
