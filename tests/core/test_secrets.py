"""What a model config may hold: names of variables with keys, never the keys."""

from __future__ import annotations

import pytest

from evalbook.core.model_config import ModelConfig
from evalbook.core.secrets import check_no_secrets, secret_fields
from evalbook.errors import ConfigError


def test_a_variable_name_is_not_a_secret_but_a_value_is() -> None:
    assert list(secret_fields({"login": {"password_env": "SITE_PASSWORD"}})) == []
    assert list(secret_fields({"token_env": "MY_TOKEN", "apiKeyEnv": "K"})) == []
    # A value that is no variable name under an *_env key is what was pasted by mistake.
    assert list(secret_fields({"password_env": "hunter2!"})) == ["password_env"]
    assert list(secret_fields({"headers": {"Authorization": "Bearer x"}})) == [
        "headers.Authorization"
    ]
    assert list(secret_fields({"api_key": "sk-123"})) == ["api_key"]


def test_the_browser_profiles_password_field_is_a_selector() -> None:
    profile = {"login": {"password": "#password", "password_env": "SITE_PASSWORD"}}
    browser = ModelConfig(provider="browser", name="site", params={"profile": profile})
    check_no_secrets(browser)  # the profile's schema: a selector and a variable name
    other = ModelConfig(provider="openai-compatible", name="m", params={"profile": profile})
    with pytest.raises(ConfigError, match=r"params\.profile\.login\.password"):
        check_no_secrets(other)
