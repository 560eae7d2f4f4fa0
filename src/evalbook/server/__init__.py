"""``evalbook serve``: the REST API, queued runs, live progress and webhooks."""

from evalbook.server.app import create_app
from evalbook.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
