"""``evalbook view``: the web workspace on loopback, in a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.server.live import closed_port


def test_view_serves_the_workspace_on_loopback(tmp_path: Path) -> None:
    port = closed_port()
    env = {**os.environ, "EVALBOOK_DATABASE_URL": f"sqlite:///{tmp_path / 'view.db'}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalbook", "view", "--no-browser", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        page = None
        while time.monotonic() < deadline:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                time.sleep(0.1)
        assert page is not None and page.status_code == 200
        assert "Dashboard" in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        css = httpx.get(f"http://127.0.0.1:{port}/static/css/base.css", timeout=5)
        assert css.status_code == 200 and "--cell-pass" in css.text
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in err
