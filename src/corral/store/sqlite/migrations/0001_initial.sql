-- The job table, its audit trail, the worker registry and the notifications outbox.
-- Times are UNIX epoch seconds (REAL, UTC); JSON columns hold TEXT.

CREATE TABLE jobs (
    id                  TEXT PRIMARY KEY,
    task                TEXT NOT NULL,
    args                TEXT NOT NULL DEFAULT '[]',
    kwargs              TEXT NOT NULL DEFAULT '{}',
    queue               TEXT NOT NULL DEFAULT 'default',
    priority            INTEGER NOT NULL DEFAULT 0,
    status              TEXT NOT NULL CHECK (status IN
                            ('scheduled', 'queued', 'running', 'cancelling',
                             'completed', 'failed', 'cancelled')),
    phase               TEXT,
    progress_current    REAL NOT NULL DEFAULT 0,
    progress_total      REAL,
    progress_message    TEXT,
    attempt             INTEGER NOT NULL DEFAULT 0,
    max_attempts        INTEGER NOT NULL DEFAULT 1,
    run_at              REAL NOT NULL,
    created_at          REAL NOT NULL,
    started_at          REAL,
    finished_at         REAL,
    heartbeat_at        REAL,
    worker_id           TEXT,
    timeout             REAL,
    cancel_requested_at REAL,
    cancel_reason       TEXT,
    cancelled_by        TEXT,
    error               TEXT,
    result              TEXT,
    batch_id            TEXT,
    limit_key           TEXT,
    unique_key          TEXT,
    meta                TEXT NOT NULL DEFAULT '{}'
);

-- Claim: the next due job per queue, by priority then age; only queued rows are indexed.
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id) WHERE status = 'queued';
CREATE INDEX jobs_due ON jobs (run_at) WHERE status = 'scheduled';
CREATE INDEX jobs_held ON jobs (worker_id) WHERE status IN ('running', 'cancelling');
CREATE INDEX jobs_status ON jobs (status, id);
CREATE INDEX jobs_batch ON jobs (batch_id) WHERE batch_id IS NOT NULL;

CREATE TABLE job_events (
    id          INTEGER PRIMARY KEY,
    job_id      TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at          REAL NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT,
    reason      TEXT,
    from_status TEXT,
    to_status   TEXT,
    data        TEXT
);
CREATE INDEX job_events_job ON job_events (job_id, id);

CREATE TABLE workers (
    id          TEXT PRIMARY KEY,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    queues      TEXT NOT NULL,
    concurrency INTEGER NOT NULL,
    version     TEXT NOT NULL,
    started_at  REAL NOT NULL,
    last_seen   REAL NOT NULL,
    state       TEXT NOT NULL,
    doorbell    TEXT
);

-- AUTOINCREMENT: ids are never reused after pruning, so readers can go by last-seen id.
CREATE TABLE notifications (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        REAL NOT NULL,
    channel   TEXT NOT NULL,
    queue     TEXT,
    worker_id TEXT,
    payload   TEXT
);
CREATE INDEX notifications_at ON notifications (at);
