from __future__ import annotations

import os
import uuid

from corral import ids


def test_ids_are_uuid7_and_sort_by_creation() -> None:
    made = [ids.uuid7() for _ in range(5000)]
    assert all(uuid.UUID(i).version == 7 for i in made)
    assert made == sorted(made) and len(set(made)) == len(made)


def test_a_forked_child_makes_ids_of_its_own() -> None:
    """Ids draw their random part from a pool of bytes: a child forked with part of its
    parent's pool left must not hand out the ids its parent makes next (a worker's
    process-isolated jobs are forked)."""
    ids.uuid7()  # the pool is drawn and partly used
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's report arrives through the pipe
        os.close(reader)
        os.write(writer, " ".join(ids.uuid7() for _ in range(50)).encode())
        os._exit(0)
    os.close(writer)
    parents = {ids.uuid7() for _ in range(50)}
    with os.fdopen(reader) as pipe:
        childs = set(pipe.read().split())
    os.waitpid(child, 0)
    tails = {ids.short(i) for i in parents}
    assert len(childs) == 50 and not tails & {ids.short(i) for i in childs}
