-- The job table, its audit trail and the worker registry, in the store's own schema
-- (connections set search_path to it). Notifications go through LISTEN/NOTIFY: no outbox.

CREATE TABLE jobs (
    id                  text PRIMARY KEY,
    task                text NOT NULL,
    args                jsonb NOT NULL DEFAULT '[]',
    kwargs              jsonb NOT NULL DEFAULT '{}',
    queue               text NOT NULL DEFAULT 'default',
    priority            integer NOT NULL DEFAULT 0,
    status              text NOT NULL CHECK (status IN
                            ('scheduled', 'queued', 'running', 'cancelling',
                             'completed', 'failed', 'cancelled')),
    phase               text,
    progress_current    double precision NOT NULL DEFAULT 0,
    progress_total      double precision,
    progress_message    text,
    attempt             integer NOT NULL DEFAULT 0,
    max_attempts        integer NOT NULL DEFAULT 1,
    attempt_offset      integer NOT NULL DEFAULT 0,
    run_at              timestamptz NOT NULL,
    created_at          timestamptz NOT NULL,
    started_at          timestamptz,
    finished_at         timestamptz,
    heartbeat_at        timestamptz,
    worker_id           text,
    timeout             double precision,
    cancel_requested_at timestamptz,
    cancel_reason       text,
    cancelled_by        text,
    error               jsonb,
    result              jsonb,
    batch_id            text,
    limit_key           text,
    unique_key          text,
    meta                jsonb NOT NULL DEFAULT '{}',
    stalled_at          timestamptz,
    unresponsive_at     timestamptz
);

CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id) WHERE status = 'queued';
CREATE INDEX jobs_due ON jobs (run_at) WHERE status = 'scheduled';
CREATE INDEX jobs_held ON jobs (worker_id) WHERE status IN ('running', 'cancelling');
CREATE INDEX jobs_status ON jobs (status, id);
CREATE INDEX jobs_batch ON jobs (batch_id) WHERE batch_id IS NOT NULL;

CREATE TABLE job_events (
    id          bigserial PRIMARY KEY,
    job_id      text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    kind        text NOT NULL,
    actor       text,
    reason      text,
    from_status text,
    to_status   text,
    data        jsonb
);
CREATE INDEX job_events_job ON job_events (job_id, id);

CREATE TABLE workers (
    id          text PRIMARY KEY,
    host        text NOT NULL,
    pid         integer NOT NULL,
    queues      text[] NOT NULL,
    concurrency integer NOT NULL,
    version     text NOT NULL,
    started_at  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    state       text NOT NULL,
    doorbell    text,
    lock_key    bigint NOT NULL
);
