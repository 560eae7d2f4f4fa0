"""The fleet's fixtures (``broker``, ``workers``) for every test module of this folder."""

from .fleet import broker, workers

__all__ = ["broker", "workers"]
