"""A response's cache key is the one it always was (a run re-uses the answers an older
release cached): the run's :class:`CacheKeys`, which serialises what every key shares
once, gives exactly ``content_hash`` of the documented body."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from evalbook.core.identity import content_hash
from evalbook.core.messages import ImagePart, Message, TextPart
from evalbook.core.model_config import ModelConfig
from evalbook.executor.cache import CACHE_KEY_VERSION, CacheKeys, cache_key, is_sampling


def _reference(
    scope: str,
    config: ModelConfig,
    messages: list[Message],
    epoch: int,
    case: tuple[str, dict[str, Any]] | None,
) -> str:
    body: dict[str, Any] = {
        "scope": scope,
        "model": config.identity(),
        "messages": [m.model_dump(mode="json") for m in messages],
        "epoch": epoch if is_sampling(config) else None,
    }
    if case is not None:
        body["case"] = {"id": case[0], "vars": case[1]}
    return content_hash(CACHE_KEY_VERSION, body)


#: The key the release before :class:`CacheKeys` computed for the known case below.
PINNED = "7b30e166282c23542b03499066619fe211e76f2fdca89e94ce5ec28a1adc6d8e"

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    scope=TEXT,
    temperature=st.sampled_from([None, 0.0, 0.7]),
    params=st.dictionaries(TEXT, JSON, max_size=3),
    texts=st.lists(
        st.tuples(
            st.sampled_from(["system", "user", "assistant"]),
            # A message of parts among text ones: the keys' generic path.
            TEXT | st.lists(TEXT, min_size=1, max_size=2),
        ),
        max_size=3,
    ),
    epoch=st.integers(0, 5),
    case=st.none() | st.tuples(TEXT, st.dictionaries(TEXT, JSON, max_size=3)),
)
def test_the_runs_keys_are_the_documented_hash(
    scope: str,
    temperature: float | None,
    params: dict[str, Any],
    texts: list[tuple[str, str | list[str]]],
    epoch: int,
    case: tuple[str, dict[str, Any]] | None,
) -> None:
    config = ModelConfig(provider="mock", name="m", temperature=temperature, params=params)
    messages = [
        Message(role=role, content=text if isinstance(text, str) else _parts(text))  # type: ignore[arg-type]
        for role, text in texts
    ]
    want = _reference(scope, config, messages, epoch, case)
    assert CacheKeys(scope, config, config.identity()).key(messages, epoch, case) == want
    assert cache_key(scope, config, messages, epoch, case) == want


def _parts(texts: list[str]) -> list[TextPart | ImagePart]:
    image = ImagePart(media_type="image/png", data="aGk=", sha256="8f434346")
    return [TextPart(text=texts[0]), image, *(TextPart(text=t) for t in texts[1:])]


def test_a_known_key_does_not_change() -> None:
    config = ModelConfig(provider="mock", name="m", temperature=0)
    messages = [Message(role="user", content="2+2? ☃")]
    key = CacheKeys("prompt", config).key(messages, 3)
    assert key == _reference("prompt", config, messages, 3, None)
    assert key == PINNED


def test_a_cached_answer_reads_back_as_it_was_answered() -> None:
    """A cache entry reads back equal to the answer it was made from: whole (set
    directly), as an older release wrote it (fields it lacked take their defaults), and
    with evidence; a key no release wrote is still refused."""
    import pytest

    from evalbook.core.result import ProviderEvidence
    from evalbook.executor.cache import response_from_json, response_to_json
    from evalbook.providers.base import GenerateResponse

    answer = GenerateResponse(
        text="4", structured={"a": [1]}, served_model="m-1", input_tokens=3, output_tokens=1
    )
    again = response_from_json(response_to_json(answer))
    assert again == answer and type(again) is GenerateResponse
    older = {"text": "4", "served_model": "m-1", "input_tokens": 3, "output_tokens": 1}
    assert response_from_json(older) == GenerateResponse(
        text="4", served_model="m-1", input_tokens=3, output_tokens=1
    )
    page = ProviderEvidence(source="browser", url="http://127.0.0.1/", html_excerpt="<p>ok</p>")
    shown = GenerateResponse(text="ok", evidence=page)
    assert response_from_json(response_to_json(shown)) == shown
    with pytest.raises(TypeError):
        response_from_json({**response_to_json(answer), "surprise": 1})
