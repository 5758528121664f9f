-- Named queries of the SQLite store: the same names as PostgreSQL's (tests/store/
-- test_query_parity.py lists the few that are this backend's alone). Every status change
-- is guarded by the statuses it may leave; the engine acts on the rows RETURNING gives
-- back. List parameters arrive as JSON arrays read with json_each; :now is the write's
-- time (epoch seconds), the same for every statement of one write. A query may be several
-- statements, run in order in the caller's transaction: the rows of the first that
-- returns rows are the query's. A later statement finds the rows an earlier one wrote
-- by what that one set to :now (SQLite's one writer: no other write shares it).
-- With no statistics, SQLite takes "status = ..." for the most selective term and walks
-- every job of that status: INDEXED BY names the partial index a lookup means (due jobs:
-- a claim with 100,000 jobs scheduled took 48.8 ms), and "+jobs.status" keeps records
-- joined to jobs off the status index (outcome_update).

-- name: insert_jobs
-- New jobs (the first statement runs once per record of :rows), then the rows this call
-- wrote (ids listed, made at :now: a stored id or a held unique key was skipped; run_at
-- only where it is not created_at, as on PostgreSQL), and their "enqueued" trail rows.
INSERT INTO jobs (id, task, args, kwargs, queue, priority, status, max_attempts, run_at,
                  created_at, timeout, batch_id, limit_key, key_limit, unique_key, meta)
VALUES (:id, :task, :args, :kwargs, :queue, :priority,
        CASE WHEN COALESCE(:run_at, :now) > :now THEN 'scheduled' ELSE 'queued' END,
        :max_attempts, COALESCE(:run_at, :now), :now, :timeout, :batch_id, :limit_key,
        :key_limit, :unique_key, :meta)
ON CONFLICT DO NOTHING;
SELECT id, status, NULLIF(run_at, created_at) AS run_at, created_at FROM jobs
WHERE id IN (SELECT value FROM json_each(:ids)) AND created_at = :now;
INSERT INTO job_events (job_id, at, kind, actor, to_status, data)
SELECT id, :now, 'enqueued', :actor, status, :data FROM jobs
WHERE id IN (SELECT value FROM json_each(:ids)) AND created_at = :now;

-- name: existing_jobs
-- What an enqueue returns for the jobs it did not insert: the jobs of those ids (a retry
-- whose first attempt committed) and the active job holding each of those unique keys.
-- (Two SELECTs, not an OR: each probes its own index, the key one the partial index.)
SELECT * FROM jobs WHERE id IN (SELECT value FROM json_each(:ids))
UNION ALL
SELECT * FROM jobs INDEXED BY jobs_unique
WHERE unique_key IN (SELECT value FROM json_each(:keys))
  AND status IN ('scheduled', 'queued', 'running', 'cancelling');

-- name: insert_events
-- Append trail rows (runs once per record of :rows), for jobs that exist: a note a worker
-- sends for a job deleted by hand meanwhile is dropped here, as on PostgreSQL, not refused
-- by the foreign key (which would fail the whole write, outcomes queued behind it too).
INSERT INTO job_events (job_id, at, kind, actor, reason, from_status, to_status, data)
SELECT * FROM (VALUES (:job_id, :now, :kind, :actor, :reason, :from_status, :to_status, :data))
WHERE EXISTS (SELECT 1 FROM jobs WHERE jobs.id = column1);

-- name: insert_tick
INSERT INTO periodic_ticks (name, tick, job_id) VALUES (:name, :tick, :job_id)
ON CONFLICT (name, tick) DO NOTHING;

-- name: tick_job
-- The id of the job that holds a periodic tick (another scheduler's, or a retry's own).
SELECT job_id FROM periodic_ticks WHERE name = :name AND tick = :tick;

-- name: prune_ticks
DELETE FROM periodic_ticks WHERE tick < :before;

-- name: insert_batch
-- A new batch; an id already taken (a retry whose first attempt committed) is skipped.
INSERT INTO batches (id, name, created_at, on_complete)
VALUES (:id, :name, :now, :on_complete)
ON CONFLICT (id) DO NOTHING;

-- name: batches
-- Batches newest first (ids sort by creation), one of them by id, or a page older than
-- before_id, with their jobs per status and the sum of their progress ratios: one row
-- per batch and status (status NULL: a batch without jobs).
WITH page AS (
    SELECT * FROM batches
    WHERE (:id IS NULL OR id = :id) AND (:before_id IS NULL OR id < :before_id)
    ORDER BY id DESC
    LIMIT :limit
), counts AS (
    SELECT batch_id, status, count(*) AS jobs,
           sum(CASE WHEN progress_total > 0 THEN min(progress_current / progress_total, 1.0)
                    ELSE 0 END) AS ratio_sum
    FROM jobs WHERE batch_id IN (SELECT id FROM page) GROUP BY batch_id, status
)
SELECT page.id, page.name, page.created_at, page.completed_at,
       counts.status, counts.jobs, counts.ratio_sum
FROM page LEFT JOIN counts ON counts.batch_id = page.id
ORDER BY page.id DESC;

-- name: any_finished_batch
-- Is there a batch whose on_complete job is due? (a read, before any write)
SELECT EXISTS (
    SELECT 1 FROM batches AS b
    WHERE on_complete IS NOT NULL AND completed_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM jobs AS j WHERE j.batch_id = b.id
                      AND j.status IN ('scheduled', 'queued', 'running', 'cancelling'))
) AS found;

-- name: finished_batches
-- Batches with an on_complete job not yet enqueued and no active job left; the guarded
-- UPDATE (completed_at IS NULL) makes each one happen once however many workers look.
UPDATE batches AS b SET completed_at = :now
WHERE on_complete IS NOT NULL AND completed_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM jobs AS j WHERE j.batch_id = b.id
                  AND j.status IN ('scheduled', 'queued', 'running', 'cancelling'))
RETURNING id, on_complete;

-- name: delete_jobs
-- Delete the listed jobs that are finished; trail rows go with them (ON DELETE CASCADE).
DELETE FROM jobs
WHERE id IN (SELECT value FROM json_each(:ids))
  AND status IN ('completed', 'failed', 'cancelled')
RETURNING id;

-- name: prune_jobs
-- Retention: finished jobs older than their status's keep period, a chunk at a time.
DELETE FROM jobs
WHERE id IN (SELECT id FROM jobs
             WHERE status IN ('completed', 'failed', 'cancelled')
               AND finished_at < CASE status WHEN 'completed' THEN :completed_before
                                             ELSE :failed_before END
             LIMIT :chunk);

-- name: has_due_work
-- Is anything claimable or due? A read, so idle workers poll without the write lock.
SELECT EXISTS (SELECT 1 FROM jobs
               WHERE status = 'queued' AND queue IN (SELECT value FROM json_each(:queues))
                 AND queue NOT IN (SELECT name FROM queues WHERE paused)
                 AND run_at <= :now)
    OR EXISTS (SELECT 1 FROM jobs INDEXED BY jobs_due
               WHERE status = 'scheduled' AND run_at <= :now);

-- name: claim_jobs
-- Due scheduled jobs -> queued (with their "due" trail rows); then up to :limit queued
-- jobs on the worker's queues -> running for it, best first, with their "claimed" rows.
-- Per queue an ordered walk of the partial claim index (an IN list over queues would sort
-- every row), then the best of those. Limited work is left to claim_ids: queues with
-- rules (paused or a concurrency limit) and jobs with a key limit are passed over here.
INSERT INTO job_events (job_id, at, kind, actor, from_status, to_status)
SELECT id, :now, 'due', 'corral', 'scheduled', 'queued' FROM jobs INDEXED BY jobs_due
WHERE status = 'scheduled' AND run_at <= :now;
UPDATE jobs INDEXED BY jobs_due SET status = 'queued'
WHERE status = 'scheduled' AND run_at <= :now;
UPDATE jobs
SET status = 'running', worker_id = :worker_id, attempt = attempt + 1,
    started_at = :now, heartbeat_at = :now, finished_at = NULL, stalled_at = NULL,
    unresponsive_at = NULL,
    phase = NULL, progress_current = 0, progress_total = NULL, progress_message = NULL
WHERE status = 'queued' AND id IN (
    SELECT best.id FROM json_each(:queues) AS q
    JOIN jobs AS best ON best.id IN (
        SELECT id FROM jobs
        WHERE status = 'queued' AND queue = q.value AND run_at <= :now
          AND (limit_key IS NULL OR key_limit IS NULL)
        ORDER BY priority DESC, run_at, id
        LIMIT :limit)
    WHERE q.value NOT IN (SELECT name FROM queues WHERE paused OR concurrency IS NOT NULL)
    ORDER BY best.priority DESC, best.run_at, best.id
    LIMIT :limit)
RETURNING *;
INSERT INTO job_events (job_id, at, kind, actor, from_status, to_status, data)
SELECT id, :now, 'claimed', :worker_id, 'queued', 'running', json_object('attempt', attempt)
FROM jobs WHERE worker_id = :worker_id AND status IN ('running', 'cancelling')
  AND started_at = :now;

-- name: limited_work
-- Is there work only the limited claim may take: due jobs on a limited, unpaused queue,
-- or due jobs with a key limit?
SELECT EXISTS (
           SELECT 1 FROM queues AS rule
           WHERE rule.name IN (SELECT value FROM json_each(:queues)) AND NOT rule.paused
             AND rule.concurrency IS NOT NULL
             AND EXISTS (SELECT 1 FROM jobs WHERE status = 'queued' AND queue = rule.name
                         AND run_at <= :now))
    OR EXISTS (SELECT 1 FROM jobs
               WHERE status = 'queued' AND limit_key IS NOT NULL AND key_limit IS NOT NULL
                 AND queue IN (SELECT value FROM json_each(:queues)) AND run_at <= :now)
    AS found;

-- name: lock_claims
-- Serialize limited claims: the write transaction holds SQLite's one write lock already.
SELECT 1;

-- name: queue_rules
-- The limits and pause switches of a list of queues, with how many jobs each runs now.
SELECT name, concurrency, paused,
       (SELECT count(*) FROM jobs WHERE jobs.queue = queues.name
        AND jobs.status IN ('running', 'cancelling')) AS running
FROM queues WHERE name IN (SELECT value FROM json_each(:queues));

-- name: limited_candidates
-- The best due jobs of ONE queue for the limited claim (all of them on a limited queue,
-- else only keyed ones); jobs whose key is at its limit are passed over (they wait, never
-- fail); key_running lets the caller count the jobs it takes in this same claim.
SELECT id, queue, priority, run_at, limit_key, key_limit,
       CASE WHEN limit_key IS NULL OR key_limit IS NULL THEN 0
            ELSE (SELECT count(*) FROM jobs AS r WHERE r.limit_key = jobs.limit_key
                  AND r.status IN ('running', 'cancelling')) END AS key_running
FROM jobs
WHERE status = 'queued' AND queue = :queue AND run_at <= :now
  AND (NOT :keyed_only OR (limit_key IS NOT NULL AND key_limit IS NOT NULL))
  AND (limit_key IS NULL OR key_limit IS NULL
       OR (SELECT count(*) FROM jobs AS r WHERE r.limit_key = jobs.limit_key
           AND r.status IN ('running', 'cancelling')) < key_limit)
ORDER BY priority DESC, run_at, id
LIMIT :limit;

-- name: claim_ids
-- queued -> running for chosen jobs, with their "claimed" trail rows.
UPDATE jobs
SET status = 'running', worker_id = :worker_id, attempt = attempt + 1,
    started_at = :now, heartbeat_at = :now, finished_at = NULL, stalled_at = NULL,
    unresponsive_at = NULL,
    phase = NULL, progress_current = 0, progress_total = NULL, progress_message = NULL
WHERE status = 'queued' AND id IN (SELECT value FROM json_each(:ids))
RETURNING *;
INSERT INTO job_events (job_id, at, kind, actor, from_status, to_status, data)
SELECT id, :now, 'claimed', :worker_id, 'queued', 'running', json_object('attempt', attempt)
FROM jobs WHERE worker_id = :worker_id AND status IN ('running', 'cancelling')
  AND started_at = :now;

-- name: set_queue
-- Create or change a queue's rules; NULL arguments keep what is there.
INSERT INTO queues (name, concurrency, paused, updated_at)
VALUES (:name, :concurrency, COALESCE(:paused, 0), :now)
ON CONFLICT (name) DO UPDATE SET
    concurrency = CASE WHEN :clear_concurrency THEN NULL
                       ELSE COALESCE(:concurrency, queues.concurrency) END,
    paused = COALESCE(:paused, queues.paused),
    updated_at = :now;

-- name: job_counts
SELECT status AS name, count(*) AS n FROM jobs GROUP BY status
UNION ALL
SELECT 'stalled', count(*) FROM jobs
WHERE stalled_at IS NOT NULL AND status IN ('running', 'cancelling')
UNION ALL
SELECT 'finished_since', count(*) FROM jobs
WHERE status IN ('completed', 'failed', 'cancelled') AND finished_at > :since;

-- name: queue_stats
-- Every queue that exists: one with jobs of any status (their names by a skip scan of
-- jobs_queue: one index seek per queue, never a walk of every row), one a live worker
-- serves, one with rules; with its rules and its active jobs counted from jobs_queue
-- (finished jobs are not counted: a queue with a million of them costs no more).
WITH RECURSIVE job_queues(name) AS (
    SELECT min(queue) FROM jobs
    UNION ALL
    SELECT (SELECT min(queue) FROM jobs WHERE queue > job_queues.name)
    FROM job_queues WHERE job_queues.name IS NOT NULL
), names AS (
    SELECT name FROM job_queues WHERE name IS NOT NULL
    UNION SELECT served.value FROM workers, json_each(workers.queues) AS served
          WHERE workers.state = 'running'
    UNION SELECT name FROM queues
)
SELECT names.name, queues.concurrency, COALESCE(queues.paused, 0) AS paused,
       (SELECT count(*) FROM jobs WHERE queue = names.name AND status = 'queued') AS queued,
       (SELECT count(*) FROM jobs WHERE queue = names.name AND status = 'scheduled')
           AS scheduled,
       (SELECT count(*) FROM jobs WHERE queue = names.name
        AND status IN ('running', 'cancelling')) AS running
FROM names LEFT JOIN queues ON queues.name = names.name
ORDER BY names.name;

-- name: statuses_of
-- Status, holder and cancel request of the listed jobs, read before a transition in the
-- same write (SQLite's write lock keeps them as read until it commits).
SELECT id, status, worker_id, attempt, cancel_requested_at, cancel_reason FROM jobs
WHERE id IN (SELECT value FROM json_each(:ids));

-- part: outcome_update
-- An outcome written to its job from the records in :rows, the fence and the statuses
-- it may leave left to the query: finish_running and finish_jobs. Where records meet
-- jobs (here, finish_running's trail rows, record_progress), "+jobs.status" keeps the
-- planner off the status index: through it, every running job of every worker was
-- matched against every record (each match parsing the JSON again), where the records
-- should lead and each find its job by id. Draining 10,000 jobs: 4,028-5,305 -> 6,848-
-- 8,597 jobs/s with two worker processes, 2,971-3,583 -> 6,320-7,752 with four.
UPDATE jobs
SET status = o.status,
    result = CASE WHEN o.has_result THEN o.result ELSE jobs.result END,
    error = COALESCE(o.error, jobs.error),
    run_at = COALESCE(o.run_at, jobs.run_at),
    phase = COALESCE(o.phase, jobs.phase),
    finished_at = CASE WHEN o.status = 'scheduled' THEN NULL ELSE :now END,
    worker_id = CASE WHEN o.status = 'scheduled' THEN NULL ELSE jobs.worker_id END
FROM (SELECT value ->> 'id' AS id, value ->> 'worker_id' AS worker_id,
             value ->> 'attempt' AS attempt, value ->> 'status' AS status,
             value ->> 'has_result' AS has_result, value ->> 'result' AS result,
             value ->> 'error' AS error, value ->> 'run_at' AS run_at,
             value ->> 'phase' AS phase
      FROM json_each(:rows)) AS o

-- name: finish_running
-- The common outcome: jobs plainly running (no cancel pending) -> the outcome's status,
-- fenced by worker_id + attempt, each with its trail row (built by the writer for
-- from_status 'running'), written first for exactly the rows the update then changes
-- (the write lock holds them as read). A job not written here (a cancel came, or it was
-- taken away) is absent from the result and goes through finish_jobs.
INSERT INTO job_events (job_id, at, kind, actor, reason, from_status, to_status, data)
SELECT e.value ->> 'job_id', :now, e.value ->> 'kind', e.value ->> 'actor',
       e.value ->> 'reason', e.value ->> 'from_status', e.value ->> 'to_status',
       e.value ->> 'data'
FROM json_each(:events) AS e
JOIN jobs ON jobs.id = e.value ->> 'job_id'
WHERE +jobs.status = 'running' AND jobs.worker_id = e.value ->> 'worker_id'
  AND jobs.attempt = e.value ->> 'attempt';
{outcome_update}
WHERE jobs.id = o.id AND jobs.worker_id = o.worker_id AND jobs.attempt = o.attempt
  AND +jobs.status = 'running'
RETURNING jobs.id, jobs.status;

-- name: finish_jobs
-- running|cancelling -> the outcome's status, fenced by worker_id + attempt (a cancelling
-- job is never rescheduled).
{outcome_update}
WHERE jobs.id = o.id AND jobs.worker_id = o.worker_id AND jobs.attempt = o.attempt
  AND (+jobs.status = 'running' OR (+jobs.status = 'cancelling' AND o.status != 'scheduled'))
RETURNING jobs.id, jobs.status;

-- name: record_progress
-- Latest progress and phase of held jobs; no trail row (progress is not a transition).
UPDATE jobs
SET phase = p.phase, progress_current = p.current, progress_total = p.total,
    progress_message = p.message, stalled_at = NULL
FROM (SELECT value ->> 'id' AS id, value ->> 'worker_id' AS worker_id,
             value ->> 'attempt' AS attempt, value ->> 'phase' AS phase,
             value ->> 'current' AS current, value ->> 'total' AS total,
             value ->> 'message' AS message
      FROM json_each(:rows)) AS p
WHERE jobs.id = p.id AND jobs.worker_id = p.worker_id AND jobs.attempt = p.attempt
  AND +jobs.status IN ('running', 'cancelling')
RETURNING jobs.id;

-- name: save_result
-- Partial result of a held job (ctx.save), fenced.
UPDATE jobs SET result = :result
WHERE id = :id AND worker_id = :worker_id AND attempt = :attempt
  AND status IN ('running', 'cancelling')
RETURNING id;

-- name: mark_stalled
-- A held job whose progress has not moved for its stall_after.
UPDATE jobs SET stalled_at = :now
WHERE id = :id AND worker_id = :worker_id AND attempt = :attempt
  AND status IN ('running', 'cancelling') AND stalled_at IS NULL
RETURNING id;

-- name: mark_unresponsive
-- A held job that has not stopped within cancel_grace of its cancel.
UPDATE jobs SET unresponsive_at = :now
WHERE id = :id AND worker_id = :worker_id AND attempt = :attempt
  AND status IN ('running', 'cancelling') AND unresponsive_at IS NULL
RETURNING id;

-- name: cancel_jobs
-- scheduled|queued -> cancelled; running -> cancelling, or -> cancelled when forced
-- (forced also ends cancelling). :statuses lists what may be left.
UPDATE jobs
SET status = CASE WHEN status IN ('scheduled', 'queued') OR :force THEN 'cancelled'
                  ELSE 'cancelling' END,
    finished_at = CASE WHEN status IN ('scheduled', 'queued') OR :force THEN :now
                       ELSE finished_at END,
    cancel_requested_at = COALESCE(cancel_requested_at, :now),
    cancel_reason = COALESCE(:reason, cancel_reason),
    cancelled_by = COALESCE(:actor, cancelled_by)
WHERE id IN (SELECT value FROM json_each(:ids))
  AND status IN (SELECT value FROM json_each(:statuses))
RETURNING *;

-- name: restart_jobs
-- failed|cancelled -> queued under the same id, with a fresh attempt budget.
UPDATE jobs
SET status = 'queued', attempt_offset = attempt, run_at = :now, finished_at = NULL,
    started_at = NULL, heartbeat_at = NULL, worker_id = NULL, error = NULL, result = NULL,
    phase = NULL, progress_current = 0, progress_total = NULL, progress_message = NULL,
    cancel_requested_at = NULL, cancel_reason = NULL, cancelled_by = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND status IN ('failed', 'cancelled')
RETURNING *;

-- name: run_now
-- scheduled -> queued, due now, for the listed jobs.
UPDATE jobs SET status = 'queued', run_at = :now
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'scheduled'
RETURNING *;

-- name: release_jobs
-- running -> queued for a worker shutting down; the attempt is not spent. (A cancelling
-- job is not handed back: the worker records it cancelled.)
UPDATE jobs
SET status = 'queued', attempt_offset = attempt_offset + 1, run_at = :now,
    worker_id = NULL, heartbeat_at = NULL, cancel_requested_at = NULL,
    cancel_reason = NULL, cancelled_by = NULL
WHERE worker_id = :worker_id AND id IN (SELECT value FROM json_each(:ids))
  AND status = 'running'
RETURNING id, status, queue, attempt;

-- name: jobs_by_ids
SELECT * FROM jobs WHERE id IN (SELECT value FROM json_each(:ids));

-- name: get_job
-- One job by id.
SELECT * FROM jobs WHERE id = :id;

-- name: jobs_matching_id
-- Jobs whose id starts with some hex digits (a range on the primary key) or ends with them
-- (a probe of the jobs_id_tail index, then the whole suffix checked), at most :limit each.
SELECT * FROM (SELECT * FROM jobs WHERE id BETWEEN :id_low AND :id_high
               ORDER BY id DESC LIMIT :limit)
UNION ALL
SELECT * FROM (SELECT * FROM jobs WHERE substr(id, -6) = :tail
                 AND replace(id, '-', '') LIKE :pattern
               LIMIT :limit);

-- part: job_filters
-- The optional filters of a listing (NULL = any): list_jobs and list_jobs_labelled.
(:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
  AND (:ids IS NULL OR id IN (SELECT value FROM json_each(:ids)))
  AND (:queue IS NULL OR queue = :queue)
  AND (:task IS NULL OR task = :task)
  AND (:batch_id IS NULL OR batch_id = :batch_id)
  AND (:limit_key IS NULL OR limit_key = :limit_key)
  AND (:created_before IS NULL OR created_at < :created_before)
  AND (:created_after IS NULL OR created_at > :created_after)
  AND (:id_low IS NULL OR id BETWEEN :id_low AND :id_high)

-- name: list_jobs
-- Jobs matching optional filters (NULL = any), newest first (:limit NULL: all); with meta
-- labels, list_jobs_labelled.
SELECT * FROM jobs
WHERE {job_filters}
  AND (:before_id IS NULL OR id < :before_id)
ORDER BY id DESC
LIMIT COALESCE(:limit, -1);

-- name: list_jobs_labelled
-- list_jobs with meta labels given: a walk of one label's rows in job_labels, newest job
-- first (migration 0010), each job checked against the other filters and every label
-- (the meta is the truth), stopping at :limit: a page costs about a page whether the label
-- marks a few jobs or most, new or old. Of several labels the walk takes the one on the
-- fewest jobs (counted up to 10,000 each), so a crawl within a tenant walks the crawl.
-- The walk starts at the newest job older than :before_id, an index bound ("IS NULL OR"
-- would make it a filter). A label (a scalar) matches the same top-level key holding an
-- equal value of the same JSON type, numbers by value (5 matches 5.0), as PostgreSQL's
-- jsonb does.
WITH walked AS (
    SELECT label.key, label.kind, label.atom
    FROM (SELECT key, CASE WHEN type IN ('integer', 'real') THEN 'number' ELSE type END
                      AS kind, atom
          FROM json_each(:meta)) AS label
    ORDER BY CASE WHEN (SELECT count(*) FROM json_each(:meta)) = 1 THEN 0
                  ELSE (SELECT count(*) FROM (
                            SELECT 1 FROM job_labels AS counted
                            WHERE counted.key = label.key AND counted.kind = label.kind
                              AND counted.value IS label.atom
                            LIMIT 10000)) END,
             label.key
    LIMIT 1
)
SELECT jobs.* FROM job_labels AS labels
JOIN jobs ON jobs.id = labels.job_id
WHERE labels.key = (SELECT key FROM walked) AND labels.kind = (SELECT kind FROM walked)
  AND labels.value IS (SELECT atom FROM walked)
  AND labels.job_id <= CASE WHEN :before_id IS NULL THEN (SELECT max(id) FROM jobs)
                            ELSE (SELECT max(id) FROM jobs WHERE id < :before_id) END
  AND {job_filters}
  AND NOT EXISTS (
      SELECT 1 FROM json_each(:meta) AS label
      WHERE CASE WHEN NOT json_valid(jobs.meta) THEN 1  -- a damaged row matches no label
                 WHEN label.type IN ('integer', 'real')
                 THEN COALESCE(json_type(jobs.meta, label.fullkey), '')
                          NOT IN ('integer', 'real')
                      OR json_extract(jobs.meta, label.fullkey) != label.atom
                 ELSE json_type(jobs.meta, label.fullkey) IS NOT label.type
                      OR json_extract(jobs.meta, label.fullkey) IS NOT label.atom END)
ORDER BY labels.job_id DESC
LIMIT COALESCE(:limit, -1);

-- name: job_events
-- The audit trail of one job, oldest first.
SELECT * FROM job_events WHERE job_id = :job_id ORDER BY id;

-- name: register_worker
-- A worker starts (or restarts under the same id).
INSERT INTO workers (id, host, pid, queues, concurrency, version, started_at, last_seen,
                     state, doorbell)
VALUES (:id, :host, :pid, :queues, :concurrency, :version, :now, :now, 'running', :doorbell)
ON CONFLICT (id) DO UPDATE
SET host = excluded.host, pid = excluded.pid, queues = excluded.queues,
    concurrency = excluded.concurrency, version = excluded.version,
    started_at = excluded.started_at, last_seen = excluded.last_seen,
    state = 'running', doorbell = excluded.doorbell;

-- name: heartbeat
-- The worker is alive (again, if a reaper had given it up for dead), and every job it
-- holds is refreshed and returned.
UPDATE workers SET last_seen = :now, state = 'running'
WHERE id = :worker_id AND state IN ('running', 'dead');
UPDATE jobs SET heartbeat_at = :now
WHERE worker_id = :worker_id AND status IN ('running', 'cancelling')
RETURNING id, status, attempt;

-- name: deregister_worker
-- The worker stopped cleanly.
UPDATE workers SET state = 'stopped', last_seen = :now, doorbell = NULL WHERE id = :worker_id;

-- name: list_workers
-- The worker registry, newest first.
SELECT * FROM workers ORDER BY started_at DESC;

-- name: dead_workers
-- Workers that claim to be alive, and whether each is silent past :lease: the driver
-- also tries the liveness lock of those on this host.
SELECT id, host, last_seen < :now - :lease AS silent FROM workers WHERE state = 'running';

-- name: mark_workers_dead
-- running -> dead for workers found dead; of racing reapers one wins per worker.
UPDATE workers SET state = 'dead'
WHERE id IN (SELECT value FROM json_each(:ids)) AND state = 'running'
RETURNING id;

-- name: has_orphans
-- Is any job held by a worker that is not running? (cheap check before writing)
SELECT 1 FROM jobs
WHERE status IN ('running', 'cancelling')
  AND worker_id IN (SELECT id FROM workers WHERE state != 'running')
LIMIT 1;

-- name: requeue_orphans
-- running -> queued for jobs of dead or stopped workers with attempts left.
UPDATE jobs SET status = 'queued', worker_id = NULL, run_at = :now, heartbeat_at = NULL
WHERE status = 'running' AND attempt - attempt_offset < max_attempts
  AND worker_id IN (SELECT id FROM workers WHERE state != 'running')
RETURNING id, status, queue, worker_id, attempt;

-- name: fail_orphans
-- running -> failed (WorkerLost) for jobs of dead or stopped workers on their last attempt.
UPDATE jobs SET status = 'failed', finished_at = :now, error = :error
WHERE status = 'running' AND attempt - attempt_offset >= max_attempts
  AND worker_id IN (SELECT id FROM workers WHERE state != 'running')
RETURNING id, status, worker_id, attempt;

-- name: cancel_orphans
-- cancelling -> cancelled for jobs whose worker died while stopping them.
UPDATE jobs SET status = 'cancelled', finished_at = :now
WHERE status = 'cancelling'
  AND worker_id IN (SELECT id FROM workers WHERE state != 'running')
RETURNING id, status, worker_id, attempt, phase;

-- name: prune_workers
-- Forget workers dead or stopped for a while (their jobs were recovered long ago).
DELETE FROM workers WHERE state != 'running' AND last_seen < :now - :gone_for;

-- name: stuck_of_dead_workers
-- Held jobs started before :cutoff whose worker is not running.
SELECT id, status, worker_id, attempt FROM jobs
WHERE status IN ('running', 'cancelling') AND started_at < :cutoff
  AND worker_id IN (SELECT id FROM workers WHERE state != 'running');

-- name: fail_lost_jobs
-- running|cancelling -> failed (WorkerLost) for the listed jobs.
UPDATE jobs SET status = 'failed', finished_at = :now, error = :error
WHERE id IN (SELECT value FROM json_each(:ids)) AND status IN ('running', 'cancelling')
RETURNING id, status;

-- name: stuck_preview
-- What reset_stuck would do, by reads only (its dry run): held jobs started before
-- :cutoff whose worker is not running or is in :dead (lost: they would fail), and the
-- other running ones (they would be cancelled).
SELECT id, status, worker_id, lost FROM (
    SELECT id, status, worker_id,
           COALESCE(worker_id IN (SELECT value FROM json_each(:dead))
                    OR worker_id IN (SELECT id FROM workers WHERE state != 'running'), 0) AS lost
    FROM jobs WHERE status IN ('running', 'cancelling') AND started_at < :cutoff)
WHERE lost OR status = 'running'
ORDER BY id;

-- name: running_started_before
-- Running jobs started before :cutoff (reset_stuck cancels those on live workers).
SELECT id FROM jobs WHERE status = 'running' AND started_at < :cutoff;

-- name: jobs_per_queue
-- How many jobs each queue has in each status (the metrics' gauge).
SELECT queue, status, count(*) AS n FROM jobs GROUP BY queue, status;

-- name: quarantine_jobs
-- Any status -> failed (CorruptJob) for rows that cannot be read back, each guarded by the
-- status it was read in (records of {id, status, error}); other columns stay as found.
UPDATE jobs
SET status = 'failed', error = q.error, finished_at = :now, stalled_at = NULL,
    unresponsive_at = NULL
FROM (SELECT value ->> 'id' AS id, value ->> 'status' AS status, value ->> 'error' AS error
      FROM json_each(:rows)) AS q
WHERE jobs.id = q.id AND jobs.status = q.status
RETURNING jobs.id;

-- Wake-ups, stop requests and change feeds (the driver's; see doorbell.py, changes.py).

-- name: notify
-- One outbox row for workers to read by id (a cancel: who must stop which jobs).
INSERT INTO notifications (at, channel, queue, worker_id, payload)
VALUES (:now, :channel, :queue, :worker_id, :payload);

-- name: live_doorbells
-- Wake-up addresses of workers seen recently.
SELECT id, doorbell, queues FROM workers
WHERE state = 'running' AND doorbell IS NOT NULL AND last_seen >= :since;

-- name: read_notifications
-- Outbox rows after a worker's last-seen id.
SELECT id, channel, queue, worker_id, payload FROM notifications
WHERE id > :after_id ORDER BY id LIMIT 1000;

-- name: open_change_feed
-- A live feed starts (or says it is still there): the change-log triggers write while
-- any feed row exists. Feeds that stopped saying so (their server died) are forgotten,
-- and change-log rows every feed is long past (up to :upto).
INSERT INTO change_feeds (id, seen_at, doorbell) VALUES (:id, :now, :doorbell)
ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at;
DELETE FROM change_feeds WHERE seen_at < :stale_before;
DELETE FROM job_changes WHERE id <= :upto;

-- name: feed_doorbells
-- Whom to ring after a write that changed something: every open feed with a doorbell.
SELECT doorbell FROM change_feeds WHERE doorbell IS NOT NULL;

-- name: close_change_feed
DELETE FROM change_feeds WHERE id = :id;

-- name: last_id
-- The newest id a log table (the outbox, the change log) ever handed out: where a new
-- reader starts (pruning does not reset it).
SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = :log), 0) AS id;

-- name: read_changes
-- Change-log rows after a feed's last-seen id, oldest first.
SELECT id, job_id FROM job_changes WHERE id > :after_id ORDER BY id LIMIT :limit;

-- name: prune_signals
-- Forget feeds that stopped saying they are there (triggers go quiet), the change log
-- when no feed is left to read it, and outbox rows every worker has had time to read
-- (last: its count is the query's).
DELETE FROM change_feeds WHERE seen_at < :stale_before;
DELETE FROM job_changes WHERE NOT EXISTS (SELECT 1 FROM change_feeds);
DELETE FROM notifications WHERE at < :before;
