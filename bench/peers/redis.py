"""The Redis peers' broker: database 15 of the loopback server, flushed for every scenario."""

from __future__ import annotations

import redis as redis_py

from bench.peers import base


def flush() -> None:
    client = redis_py.Redis.from_url(base.REDIS)
    try:
        client.flushdb()
    finally:
        client.close()
