-- Recovery bookkeeping.
-- attempt_offset: attempts that do not count against max_attempts (spent before a restart,
-- or handed back by a worker shutting down). attempt itself never goes down, so
-- worker_id + attempt stays a unique fence for every execution a job ever has.
ALTER TABLE jobs ADD COLUMN attempt_offset INTEGER NOT NULL DEFAULT 0;
-- stalled_at: progress has not moved for the task's stall_after (cleared when it moves).
ALTER TABLE jobs ADD COLUMN stalled_at REAL;
-- unresponsive_at: a cancel was not honoured within cancel_grace by a thread-run task.
ALTER TABLE jobs ADD COLUMN unresponsive_at REAL;
