from __future__ import annotations

import uuid

from corral import ids


def test_ids_are_uuid7_and_sort_by_creation() -> None:
    made = [ids.uuid7() for _ in range(5000)]
    assert all(uuid.UUID(i).version == 7 for i in made)
    assert made == sorted(made) and len(set(made)) == len(made)
