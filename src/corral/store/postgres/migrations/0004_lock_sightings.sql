-- A free liveness lock seen once is not proof of death: a live worker's connection may
-- have dropped (pg_terminate_backend, a restart) and its lock be taken again a moment
-- later. The reaper records when it first saw the lock free; the worker clears that
-- when it takes the lock again; a worker is dead by its lock only when a later sighting
-- finds it still free long enough after the first.
ALTER TABLE workers ADD COLUMN lock_free_since timestamptz;
