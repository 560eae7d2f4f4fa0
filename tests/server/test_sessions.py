"""Browser session tokens: signed, expiring, never the key; CSRF tokens bound to them."""

from __future__ import annotations

import time

from evalbook.server import sessions
from evalbook.storage.store import Store
from evalbook.storage.workspaces import create_key, revoke_key


def test_a_token_reads_back_and_holds_no_key(store: Store) -> None:
    key, record = create_key(store, "team-a")
    found = sessions.key_of(store, key)
    assert found is not None and found[0] == record.id and found[1].name == "team-a"
    token = sessions.issue(record.id)
    assert key not in token and key[3:13] not in token
    session = sessions.read(token)
    assert session is not None and session.key_id == record.id
    workspace = sessions.session_workspace(store, session)
    assert workspace is not None and workspace.name == "team-a"
    revoke_key(store, record.prefix)
    assert sessions.session_workspace(store, session) is None
    assert sessions.key_of(store, key) is None


def test_tampered_expired_or_malformed_tokens_are_refused() -> None:
    token = sessions.issue("k1")
    payload, mac = token.split(".")
    forged = sessions.issue("k2").split(".")[0] + "." + mac
    assert sessions.read(forged) is None
    assert sessions.read(payload + "." + mac[:-2] + "AA") is None
    old = sessions.issue("k1", now=time.time() - sessions.SESSION_TTL_S - 3600)
    assert sessions.read(old) is None
    for junk in (None, "", "a", "a.b.c", "!!.??", "x" * 600):
        assert sessions.read(junk) is None


def test_csrf_tokens_differ_per_binding() -> None:
    assert sessions.csrf_token("session:a") == sessions.csrf_token("session:a")
    assert sessions.csrf_token("session:a") != sessions.csrf_token("session:b")
    assert sessions.csrf_token("anon:a") != sessions.csrf_token("session:a")
