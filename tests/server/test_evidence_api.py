"""Evidence blobs over HTTP: a result's screenshot is served from the blob store by the
hash its evidence names, with headers that keep a browser from sniffing it as a page."""

from __future__ import annotations

import httpx

from evalbook.core.result import BlobRef, ProviderEvidence
from evalbook.storage.store import Store
from tests.server.resources import finished_run

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00fake-image-bytes" * 10


async def test_a_screenshot_is_served_by_its_results_evidence(
    api: httpx.AsyncClient, store: Store
) -> None:
    run = await finished_run(store)
    result = store.get_result(run.id, "c1")
    result.provider_evidence = ProviderEvidence(
        source="browser",
        url="http://127.0.0.1:1/",
        screenshot=BlobRef.of(PNG, "image/png"),
        html_excerpt='<div class="message">Paris <script>alert(1)</script></div>',
    )
    store.save_results([(result, 0)])
    sha = result.provider_evidence.screenshot.sha256  # type: ignore[union-attr]

    one = (await api.get(f"/api/runs/{run.id}/results/c1")).json()
    shot = one["provider_evidence"]["screenshot"]
    assert shot == {"sha256": sha, "media_type": "image/png", "size": len(PNG)}
    assert "data" not in shot  # bytes never travel inside the JSON

    url = f"/api/runs/{run.id}/results/c1/evidence/screenshot"
    got = await api.get(url)
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["etag"] == f'"{sha}"'

    assert (await api.get(f"/api/runs/{run.id}/results/c2/evidence/screenshot")).status_code == 404
    assert (await api.get(f"/api/runs/{run.id}/results/c1/evidence/trace")).status_code == 404
    assert (await api.get(f"/api/runs/{run.id}/results/c1/evidence/../x")).status_code == 404
