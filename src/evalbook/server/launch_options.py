"""What the launch sheet offers: providers, the workspace's suites and the model configs
its runs used (``GET /api/launch-options`` answers the same)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evalbook.providers.registry import PROVIDERS
from evalbook.scorers.judges.prompts import CRITERIA
from evalbook.storage.activity import SavedModel, recent_models
from evalbook.storage.catalog import SuiteRef, suite_refs
from evalbook.storage.store import Store

__all__ = ["LaunchOptions", "launch_options"]

#: Providers a request may not name (they run code of the server: see the API's policy).
_CODE = frozenset({"python"})


@dataclass(frozen=True)
class LaunchOptions:
    providers: list[str]
    suites: list[SuiteRef]
    models: list[SavedModel]
    #: Built-in judge criteria (name → what the judge is asked).
    criteria: dict[str, str]

    @staticmethod
    def label(config: dict[str, Any]) -> str:
        spec = f"{config.get('provider')}:{config.get('name')}"
        extra = [
            f"{k}={config[k]}" for k in ("temperature", "max_tokens") if config.get(k) is not None
        ]
        if config.get("base_url"):
            extra.append(str(config["base_url"]))
        return spec + (f" ({', '.join(extra)})" if extra else "")


def launch_options(store: Store, workspace_id: str) -> LaunchOptions:
    refs = suite_refs(store, workspace_id)
    return LaunchOptions(
        providers=[p for p in sorted(PROVIDERS.names()) if p not in _CODE],
        suites=sorted(refs, key=lambda r: (r.suite_id, r.created_at), reverse=False),
        models=recent_models(store, workspace_id),
        criteria={name: CRITERIA[name].description for name in sorted(CRITERIA)},
    )
