-- Attempts that do not count against max_attempts: those spent before a restart, and
-- those handed back by a worker shutting down. attempt itself never goes down, so
-- worker_id + attempt stays a unique fence for every execution a job ever has.
ALTER TABLE jobs ADD COLUMN attempt_offset INTEGER NOT NULL DEFAULT 0;
