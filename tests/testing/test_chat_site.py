"""The fake chat site over plain HTTP: answers stream whole, directives and site-wide
settings misbehave exactly as asked, and the login wall holds until a session exists."""

from __future__ import annotations

import json
import time

import httpx

from evalbook.testing.chat_site import ChatSiteConfig, run_chat_site_in_thread


def _tokens(response: httpx.Response) -> list[dict[str, object]]:
    return [json.loads(line) for line in response.text.splitlines() if line]


def test_answers_stream_token_by_token_and_join_exactly() -> None:
    with run_chat_site_in_thread(ChatSiteConfig(pause_ms=(0, 1))) as site:
        with httpx.Client(base_url=site.url) as client:
            page = client.get("/")
            assert page.status_code == 200 and 'id="prompt"' in page.text
            reply = client.post(
                "/api/chat", json={"message": "q [[answer=Two  words,\nthen more.]]"}
            )
            events = _tokens(reply)
            assert len(events) > 3
            assert "".join(str(e["t"]) for e in events) == "Two  words,\nthen more."
            echo = client.post("/api/chat", json={"message": "  just echo  "})
            assert "".join(str(e["t"]) for e in _tokens(echo)) == "just echo"
            reload = client.post("/api/chat", json={"message": "r [[reload:1]]"})
            assert _tokens(reload)[-1] == {"reload": True}
            again = client.post("/api/chat", json={"message": "r [[reload:1]]"})
            assert "".join(str(e.get("t", "")) for e in _tokens(again)) == "r [[reload:1]]"
        assert site.outcomes["completed"] == 3 and site.outcomes["reloaded"] == 1


def test_rate_limits_and_the_login_wall() -> None:
    config = ChatSiteConfig(require_login=True, rate_limited_sends=1, retry_after_s=3)
    with run_chat_site_in_thread(config) as site:
        with httpx.Client(base_url=site.url) as client:
            assert 'id="login-form"' in client.get("/").text
            assert client.post("/api/chat", json={"message": "x"}).status_code == 401
            wrong = client.post("/login", data={"username": "tester", "password": "no"})
            assert wrong.status_code == 401 and "Wrong user" in wrong.text
            ok = client.post("/login", data={"username": "tester", "password": "open-sesame"})
            assert ok.status_code == 303
            assert 'id="prompt"' in client.get("/").text
            limited = client.post("/api/chat", json={"message": "x"})
            assert limited.status_code == 429 and limited.json() == {"retry_after": 3.0}
            assert client.post("/api/chat", json={"message": "x"}).status_code == 200


def test_shares_of_messages_hang_or_reload_the_first_time_only() -> None:
    config = ChatSiteConfig(hang_rate=0.2, reload_rate=0.2, seed=1)
    with run_chat_site_in_thread(config) as site:
        faults = [site._fault(f"message {i}", 1) for i in range(1000)]
        assert 150 < faults.count("hang") < 250 and 150 < faults.count("reload") < 250
        assert all(site._fault(f"message {i}", 2) is None for i in range(1000))


def test_a_slow_answer_waits_before_its_first_token() -> None:
    """``[[latency=MS]]`` (and ``first_token_ms`` site-wide) hold the first token back."""
    with run_chat_site_in_thread(ChatSiteConfig(pause_ms=(0, 1), first_token_ms=300)) as site:
        with httpx.Client(base_url=site.url, timeout=30) as client:
            for message, at_least in (("[[latency=600]] slow", 0.6), ("default", 0.3)):
                t0 = time.monotonic()
                with client.stream("POST", "/api/chat", json={"message": message}) as reply:
                    lines = reply.iter_lines()
                    first = json.loads(next(lines))
                    waited = time.monotonic() - t0
                    rest = "".join(json.loads(line)["t"] for line in lines if line)
                assert waited >= at_least, (message, waited)  # a lower bound: load only adds
                assert first["t"] + rest == message


def test_sessions_expire_once_after_the_configured_sends() -> None:
    config = ChatSiteConfig(require_login=True, pause_ms=(0, 1), expire_sessions_after=2)
    login = {"username": "tester", "password": "open-sesame"}
    with run_chat_site_in_thread(config) as site:
        with httpx.Client(base_url=site.url) as client:
            assert client.post("/login", data=login).status_code == 303
            sent = [client.post("/api/chat", json={"message": "x"}) for _ in range(3)]
            assert [r.status_code for r in sent] == [200, 200, 401]  # the 2nd is answered
            assert client.post("/login", data=login).status_code == 303
            again = [client.post("/api/chat", json={"message": "x"}) for _ in range(3)]
            assert [r.status_code for r in again] == [200, 200, 200]  # once only
        assert site.outcomes["unauthorized"] == 1
