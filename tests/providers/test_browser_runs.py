"""The browser provider through the executor, against the fake chat site in a real
Chromium: complete answers under random streaming pauses, hangs and reloads retried
with nothing lost, a login wall stopping the run at once, evidence kept as blobs."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from evalbook.api import aresume, arun
from evalbook.cli.app import app
from evalbook.core.result import ResultStatus
from evalbook.core.run import RunStatus
from evalbook.executor.events import Event, ItemDone, RunStarted
from evalbook.io.export import to_string
from evalbook.storage.store import Store
from evalbook.testing.chat_site import ChatSite, ChatSiteConfig, run_chat_site_in_thread
from tests.providers.browser_sites import answers, browser_suite, profile

pytestmark = pytest.mark.slow


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'browser.db'}")
    yield store
    store.close()


@pytest.fixture(scope="module")
def pausing_site() -> Iterator[ChatSite]:
    """Random pauses of 0-60 ms between tokens, some longer than the settle time."""
    with run_chat_site_in_thread(ChatSiteConfig(pause_ms=(0.0, 60.0), seed=7)) as site:
        yield site


async def test_a_hundred_streamed_answers_are_read_whole(
    pausing_site: ChatSite, sqlite_store: Store
) -> None:
    before = pausing_site.outcomes["completed"]
    suite = browser_suite(pausing_site, 100, max_pages=4, done={"settle_ms": 100})
    run = await arun(suite, store=sqlite_store, concurrency=4)
    results = list(sqlite_store.iter_results(run.id))
    assert run.status is RunStatus.completed
    assert [r.output for r in results] == answers(100)  # none cut mid-stream
    assert run.score == 1.0 and run.counts.passed == 100
    assert pausing_site.outcomes["completed"] - before == 100
    assert pausing_site.max_streaming <= 4
    # Evidence: a screenshot blob per case (stored once by hash), the answer's HTML.
    shots = {r.provider_evidence.screenshot.sha256 for r in results}  # type: ignore[union-attr]
    assert len(shots) >= 90
    media, png = sqlite_store.get_blob(next(iter(shots)))
    assert media == "image/png" and png.startswith(b"\x89PNG")
    first = results[0].provider_evidence
    assert first is not None and first.url == pausing_site.url and first.title == "Fake chat"
    assert first.html_excerpt is not None and answers(1)[0] in first.html_excerpt
    assert first.trace_path is None  # traces are kept for failures only


async def test_without_a_streaming_marker_the_settle_time_decides(
    pausing_site: ChatSite, sqlite_store: Store
) -> None:
    suite = browser_suite(
        pausing_site, 12, suite_id="no-marker", streaming=None, done={"settle_ms": 400}
    )
    run = await arun(suite, store=sqlite_store)
    assert run.counts.passed == 12, [r.output for r in sqlite_store.iter_results(run.id)]


async def test_hangs_and_reloads_are_retried_and_nothing_is_lost(sqlite_store: Store) -> None:
    config = ChatSiteConfig(pause_ms=(0.0, 30.0), hang_rate=0.1, reload_rate=0.1, seed=3)
    with run_chat_site_in_thread(config) as site:
        suite = browser_suite(site, 60, max_pages=4, timeout_s=3)
        events: list[Event] = []
        run = await arun(suite, store=sqlite_store, concurrency=4, on_event=events.append)
        results = list(sqlite_store.iter_results(run.id))
        hung, reloaded = site.outcomes["hung"], site.outcomes["reloaded"]
    assert hung >= 2 and reloaded >= 2, site.outcomes
    assert run.status is RunStatus.completed and run.counts.passed == 60
    assert [r.output for r in results] == answers(60)
    retried = [r for r in results if len(r.attempts) > 1]
    # Every case the site hung or reloaded was retried; on a loaded machine another case
    # may also run past its 3 s, which is a timeout retried the same way.
    faulted = {r.case_id for r in results if site._fault(r.messages[-1].text, 1)}
    assert len(faulted) == hung + reloaded and faulted <= {r.case_id for r in retried}
    extra = [a.message for r in retried if r.case_id not in faulted for a in r.attempts[:-1]]
    assert all("no finished answer" in m for m in extra), extra
    # Progress as for any provider: the run's start, then each case once it is done.
    assert [e.total for e in events if isinstance(e, RunStarted)] == [60]
    done = [e for e in events if isinstance(e, ItemDone)]
    assert sorted(e.case_id for e in done) == [r.case_id for r in results]
    assert sum(1 for e in done if e.attempts > 1 and e.retry_error) == len(retried)
    outcomes = {a.message.split(": ", 1)[1][:40] for r in retried for a in r.attempts[:-1]}
    assert any("no finished answer" in o for o in outcomes), outcomes
    assert any("reloaded" in o for o in outcomes), outcomes
    traces = [a.trace_path for r in retried for a in r.attempts[:-1]]
    assert all(t and Path(t).is_file() and Path(t).stat().st_size > 0 for t in traces)


async def test_a_login_wall_stops_the_run_at_once_and_login_then_resume_finishes_it(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with run_chat_site_in_thread(ChatSiteConfig(require_login=True)) as site:
        suite = browser_suite(site, 30, max_pages=2)
        run = await arun(suite, store=sqlite_store, concurrency=2)
        assert run.status is RunStatus.failed
        assert "evalbook browser login" in (run.stop_reason or "")
        assert "asks to log in" in (run.stop_reason or "")
        assert site.sends == 0
        errored = list(sqlite_store.iter_results(run.id))
        assert 1 <= len(errored) <= 2 and all(r.status is ResultStatus.error for r in errored)
        assert all(len(r.attempts) == 1 for r in errored)  # fatal: never retried
        assert run.counts.passed == 0 and not run.passed
        assert run.counts.failed == 0  # an errored case is never scored as a fail

        # Log in without a display, from the environment, then resume the same run.
        path = tmp_path / "site.yaml"
        path.write_text(yaml.safe_dump(profile(site)))
        login = ["browser", "login", str(path), "--headless"]
        bad = await asyncio.to_thread(CliRunner().invoke, app, login)
        assert bad.exit_code != 0 and "FAKE_CHAT_USER" in str(bad.exception or bad.output)
        monkeypatch.setenv("FAKE_CHAT_USER", site.config.username)
        monkeypatch.setenv("FAKE_CHAT_PASSWORD", site.config.password)
        done = await asyncio.to_thread(CliRunner().invoke, app, login)
        assert done.exit_code == 0, done.output
        saved = list((Path(tmp_path / "home" / "browser" / "state")).glob("*.json"))
        assert len(saved) == 1 and oct(saved[0].stat().st_mode & 0o777) == "0o600"
        assert site.config.password not in saved[0].read_text()
        resumed = await aresume(run.id, store=sqlite_store)
        assert resumed.status is RunStatus.completed and resumed.counts.passed == 30
        assert site.sends == 30

    # The session stays in its file: not in the database, not in an export.
    state = json.loads(saved[0].read_text())
    session = next(c["value"] for c in state["cookies"] if c["name"] == "fake_chat_session")
    assert len(session) >= 16
    results = list(sqlite_store.iter_results(run.id))
    for fmt in ("jsonl", "csv"):
        assert session not in to_string(sqlite_store.get_run(run.id), results, fmt)
    for db_file in tmp_path.glob("browser.db*"):  # the database, its WAL and journal
        assert session.encode() not in db_file.read_bytes(), db_file


async def test_a_rate_limit_banner_waits_what_the_site_says(sqlite_store: Store) -> None:
    with run_chat_site_in_thread(ChatSiteConfig(rate_limited_sends=2, retry_after_s=7)) as site:
        run = await arun(browser_suite(site, 4, max_pages=1), store=sqlite_store, concurrency=1)
    assert run.counts.passed == 4
    limited = [a for r in sqlite_store.iter_results(run.id) for a in r.attempts]
    waits = [a.retry_after for a in limited if a.outcome == "rate_limit"]
    assert waits == [7.0, 7.0]


async def test_a_selector_that_matches_nothing_stops_the_run_naming_it(
    pausing_site: ChatSite, sqlite_store: Store
) -> None:
    suite = browser_suite(pausing_site, 20, suite_id="typo", input="#promt")
    run = await arun(suite, store=sqlite_store, concurrency=1)
    assert run.status is RunStatus.failed
    assert "'#promt'" in (run.stop_reason or "") and "input selector" in (run.stop_reason or "")
    errored = list(sqlite_store.iter_results(run.id))
    assert len(errored) == 1 and errored[0].error_type == "ConfigError"
    assert errored[0].provider_evidence is not None
    assert errored[0].provider_evidence.trace_path is not None


async def test_answers_are_cached_on_the_prompt_and_the_profiles_identity(
    pausing_site: ChatSite, sqlite_store: Store
) -> None:
    first = await arun(browser_suite(pausing_site, 5, suite_id="cached"), store=sqlite_store)
    sends = pausing_site.sends
    # A transport knob (timeout, pages) changes nothing the answers depend on …
    again = await arun(
        browser_suite(pausing_site, 5, suite_id="cached", timeout_s=33, max_pages=1),
        store=sqlite_store,
    )
    assert again.counts.cached == 5 and pausing_site.sends == sends
    cached = sqlite_store.get_result(again.id, "case-000")
    assert (
        cached.provider_evidence == sqlite_store.get_result(first.id, "case-000").provider_evidence
    )
    # … how the page is read does.
    other = await arun(
        browser_suite(pausing_site, 5, suite_id="cached", done={"settle_ms": 200}),
        store=sqlite_store,
    )
    assert other.counts.cached == 0 and pausing_site.sends == sends + 5


async def test_reload_per_case_a_send_button_and_the_sites_rpm(
    pausing_site: ChatSite, sqlite_store: Store
) -> None:
    """The other ways a profile may drive a page: ``new_chat: reload`` (the page loaded
    afresh for each case), ``send`` a button to click, and ``rpm`` spacing the messages
    of every page (two pages here) to the site."""
    loads, first = pausing_site.page_loads, len(pausing_site.sent_at)
    suite = browser_suite(
        pausing_site,
        6,
        suite_id="reload-click-rpm",
        new_chat="reload",
        send="#send",
        rpm=60,  # one message a second
        max_pages=2,
    )
    run = await arun(suite, store=sqlite_store, concurrency=2, use_cache=False)
    assert run.status is RunStatus.completed and run.counts.passed == 6
    assert [r.output for r in sqlite_store.iter_results(run.id)] == answers(6)
    assert pausing_site.page_loads - loads == 6  # one page load per case
    times = sorted(pausing_site.sent_at[first:])
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Paced at 1 s between grants; what the site sees adds how long each message took to
    # type after its grant, which varies on a loaded machine (one gap of 0.47 s next to
    # 0.85 s in CI): the five gaps span about 5 s all the same, and none is near zero, as
    # the two pages' messages are unpaced (both pages send at nearly one moment).
    assert len(times) == 6 and times[-1] - times[0] >= 4.0 and min(gaps) >= 0.25, gaps


async def test_browser_check_sends_one_message_through_a_profile(
    pausing_site: ChatSite, tmp_path: Path
) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(profile(pausing_site)))
    check = ["browser", "check", str(path), "-m", "ping [[answer=pong, whole]]", "--json"]
    done = await asyncio.to_thread(CliRunner().invoke, app, check)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["answer"] == "pong, whole"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(profile(pausing_site, input="#no-such-box")))
    failed = await asyncio.to_thread(CliRunner().invoke, app, ["browser", "check", str(broken)])
    assert failed.exit_code != 0
    assert "'#no-such-box'" in str(failed.exception or failed.output)


async def test_a_response_selector_that_matches_nothing_stops_the_run_naming_it(
    pausing_site: ChatSite, sqlite_store: Store
) -> None:
    """The site answers, but not where the profile looks: after two turns that ran out of
    time with the answer elsewhere (one could be a slow site), a config error naming the
    selector and the element the answer went to stops the run."""
    sends = pausing_site.sends
    suite = browser_suite(
        pausing_site, 8, suite_id="response-typo", response=".mesage.assistant", timeout_s=3
    )
    run = await arun(suite, store=sqlite_store, concurrency=1)
    assert run.status is RunStatus.failed
    reason = run.stop_reason or ""
    assert "response selector '.mesage.assistant'" in reason, reason
    assert 'class=\\"message assistant\\"' in reason or "message assistant" in reason, reason
    assert "fix the response selector" in reason
    assert pausing_site.sends - sends == 2  # not 8 cases × every attempt
    results = list(sqlite_store.iter_results(run.id))
    assert all(r.status is ResultStatus.error for r in results) and run.counts.failed == 0
    attempts = [a for r in results for a in r.attempts]
    assert len(attempts) == 2 and "showed new text in" in attempts[0].message


async def test_a_site_that_only_shows_its_typing_indicator_is_slow_not_misread(
    pausing_site: ChatSite, sqlite_store: Store
) -> None:
    """No streaming marker in the profile; the site stalls (typing indicator, no token) on
    the first send of two cases. Those time out and are retried: the selector is not
    blamed, since one stall proves nothing and an answer read since proves it right."""
    suite = browser_suite(
        pausing_site,
        4,
        suite_id="stalls",
        extra="{% if i in (0, 2) %} [[stall:1]]{% endif %}",
        streaming=None,
        done={"settle_ms": 400},
        timeout_s=3,
        max_pages=1,
    )
    stalled = pausing_site.outcomes["stalled"]
    run = await arun(suite, store=sqlite_store, concurrency=1)
    assert run.status is RunStatus.completed and run.counts.passed == 4
    assert pausing_site.outcomes["stalled"] - stalled == 2
    results = {r.case_id: r for r in sqlite_store.iter_results(run.id)}
    assert [len(results[f"case-{i:03d}"].attempts) for i in range(4)] == [2, 1, 2, 1]
    first = results["case-000"].attempts[0].message
    assert "showed new text in" in first and "typing" in first, first


async def test_a_session_that_expires_mid_run_stops_it_and_resume_finishes(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Logged in, the run goes well until the site forgets the session: the next send is
    refused with a "log in again" banner, which stops the run (no case scored as a fail,
    nothing tried 1,000 times); after logging in again, resume does only what is left."""
    # The site logs everyone out right after its fifth answer (on the site's side: a
    # result's event comes only once its batch is written, when the next case may
    # already have been sent).
    config = ChatSiteConfig(require_login=True, pause_ms=(0, 10), expire_sessions_after=5)
    with run_chat_site_in_thread(config) as site:
        monkeypatch.setenv("FAKE_CHAT_USER", site.config.username)
        monkeypatch.setenv("FAKE_CHAT_PASSWORD", site.config.password)
        path = tmp_path / "site.yaml"
        path.write_text(yaml.safe_dump(profile(site)))
        login = ["browser", "login", str(path), "--headless"]
        assert (await asyncio.to_thread(CliRunner().invoke, app, login)).exit_code == 0

        suite = browser_suite(site, 20, suite_id="expiring", max_pages=1)
        run = await arun(suite, store=sqlite_store, concurrency=1)
        assert run.status is RunStatus.failed
        assert "asks to log in" in (run.stop_reason or "")
        assert "Your session has expired" in (run.stop_reason or "")
        assert run.counts.passed == 5 and run.counts.failed == 0
        assert site.outcomes["unauthorized"] == 1  # stopped at the first refusal

        assert (await asyncio.to_thread(CliRunner().invoke, app, login)).exit_code == 0
        sends = site.sends
        resumed = await aresume(run.id, store=sqlite_store)
        assert resumed.status is RunStatus.completed and resumed.counts.passed == 20
        assert site.sends - sends == 15
        outputs = [r.output for r in sqlite_store.iter_results(run.id)]
        assert outputs == answers(20)
