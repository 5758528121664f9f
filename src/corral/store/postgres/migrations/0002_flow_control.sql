-- Flow control (DESIGN §6): queues with a global limit and a pause switch, batches,
-- per-key limits, de-duplication of active jobs, and once-per-tick periodic jobs.

-- A queue without a row here is unlimited and running; rows are made by pause/limit calls.
CREATE TABLE queues (
    name        text PRIMARY KEY,
    concurrency integer CHECK (concurrency IS NULL OR concurrency >= 1),
    paused      boolean NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL
);

-- on_complete: the job enqueued once every job of the batch has finished;
-- completed_at: when that was seen (set once, by a guarded UPDATE).
CREATE TABLE batches (
    id           text PRIMARY KEY,
    name         text,
    created_at   timestamptz NOT NULL,
    on_complete  jsonb,
    completed_at timestamptz
);
CREATE INDEX batches_open ON batches (created_at)
    WHERE on_complete IS NOT NULL AND completed_at IS NULL;

-- key_limit: how many jobs with this job's limit_key may run at once (NULL: no limit).
ALTER TABLE jobs ADD COLUMN key_limit integer;
CREATE UNIQUE INDEX jobs_unique ON jobs (unique_key)
    WHERE unique_key IS NOT NULL AND status IN ('scheduled', 'queued', 'running', 'cancelling');
CREATE INDEX jobs_key_running ON jobs (limit_key)
    WHERE limit_key IS NOT NULL AND status IN ('running', 'cancelling');
-- Claims ask "is any keyed job waiting on these queues?" without walking plain ones.
CREATE INDEX jobs_keyed_queued ON jobs (queue)
    WHERE status = 'queued' AND limit_key IS NOT NULL AND key_limit IS NOT NULL;
CREATE INDEX jobs_finished ON jobs (finished_at)
    WHERE status IN ('completed', 'failed', 'cancelled');

CREATE TABLE periodic_ticks (
    name   text NOT NULL,
    tick   timestamptz NOT NULL,
    job_id text,
    PRIMARY KEY (name, tick)
);
