"""The peer job queues run beside corral: one adapter module per peer (see ``base``).

Listed by import path so a peer is only imported when it runs.
"""

from __future__ import annotations

import importlib

from bench.peers.base import Peer

ADAPTERS = {
    "pgqueuer": "bench.peers.pgqueuer:PgqueuerPeer",
    "procrastinate": "bench.peers.procrastinate:ProcrastinatePeer",
    "celery": "bench.peers.celery_peer:CeleryPeer",
    "rq": "bench.peers.rq_peer:RqPeer",
    "arq": "bench.peers.arq_peer:ArqPeer",
    "dramatiq": "bench.peers.dramatiq_peer:DramatiqPeer",
    "saq": "bench.peers.saq_peer:SaqPeer",
    "huey": "bench.peers.huey_peer:HueyPeer",
}


def load(name: str) -> type[Peer]:
    module, _, attribute = ADAPTERS[name].partition(":")
    peer: type[Peer] = getattr(importlib.import_module(module), attribute)
    return peer
