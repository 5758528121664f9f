"""The HTTP API (DESIGN §8): an ASGI app over a ``Corral``, served by ``corral serve``."""

from corral.http.api import create_app

__all__ = ["create_app"]
