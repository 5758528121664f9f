-- Flow control (DESIGN §6): queues with a global limit and a pause switch, batches,
-- per-key limits, de-duplication of active jobs, and once-per-tick periodic jobs.

-- A queue without a row here is unlimited and running; rows are made by pause/limit calls.
CREATE TABLE queues (
    name        TEXT PRIMARY KEY,
    concurrency INTEGER CHECK (concurrency IS NULL OR concurrency >= 1),
    paused      INTEGER NOT NULL DEFAULT 0,
    updated_at  REAL NOT NULL
);

-- on_complete: the job (JSON) enqueued once every job of the batch has finished;
-- completed_at: when that was seen (set once, by a guarded UPDATE).
CREATE TABLE batches (
    id           TEXT PRIMARY KEY,
    name         TEXT,
    created_at   REAL NOT NULL,
    on_complete  TEXT,
    completed_at REAL
);
CREATE INDEX batches_open ON batches (created_at)
    WHERE on_complete IS NOT NULL AND completed_at IS NULL;

-- key_limit: how many jobs with this job's limit_key may run at once (NULL: no limit).
ALTER TABLE jobs ADD COLUMN key_limit INTEGER;
CREATE UNIQUE INDEX jobs_unique ON jobs (unique_key)
    WHERE unique_key IS NOT NULL AND status IN ('scheduled', 'queued', 'running', 'cancelling');
CREATE INDEX jobs_key_running ON jobs (limit_key)
    WHERE limit_key IS NOT NULL AND status IN ('running', 'cancelling');
CREATE INDEX jobs_finished ON jobs (finished_at)
    WHERE status IN ('completed', 'failed', 'cancelled');

-- One row per periodic task and tick: the insert that wins enqueues the tick's job.
CREATE TABLE periodic_ticks (
    name   TEXT NOT NULL,
    tick   REAL NOT NULL,
    job_id TEXT,
    PRIMARY KEY (name, tick)
);
