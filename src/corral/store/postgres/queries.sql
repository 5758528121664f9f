-- Named queries of the PostgreSQL store: the same names as the SQLite store's where the
-- operation is the same. Every status change is guarded by the statuses it may leave;
-- rows read before a transition are locked (FOR UPDATE) so the "from" status in the trail
-- is the one really left. Times come from the server (now()), so hosts agree.
--
-- "(status ...) IS TRUE" where a statement finds its jobs by id (or batch) and only
-- checks their status: the same filter, which no index can serve (SQLite's "+status").
-- A table not yet analyzed (a new deployment's first burst, before autovacuum) leads the
-- planner to think few jobs hold a status, so it reads the status index, or jobs_held,
-- and with them every running job's entry, dead ones too: 9,224 entries read for each
-- outcome write of a 20,000-job drain, PostgreSQL's CPU a job 168 -> 143 us without.

-- name: insert_jobs
-- One statement, one round trip: every job of the records in %(rows)s (status from
-- run_at; JSON columns arrive as the text the writer's json.dumps made), its meta labels
-- (migration 0011: the only statement that inserts jobs writes them), its "enqueued"
-- trail row, and one NOTIFY per queue that got ready jobs (named in "woke"). A job whose
-- unique_key an active job holds, or whose id is taken (a retry whose first attempt
-- committed), is skipped: absent from the result, so no second trail row or NOTIFY.
-- Each row says only what the insert decided (status; run_at where it is not the
-- statement's time, which the first row alone carries as created_at): a timestamp costs
-- the client more to decode than the rest of the row (enqueue_many of 10,000).
-- (No conflict target: the primary key and the partial unique index are both arbiters.)
WITH inserted AS (
    INSERT INTO jobs (id, task, args, kwargs, queue, priority, status, max_attempts, run_at,
                      created_at, timeout, batch_id, limit_key, key_limit, unique_key, meta)
    SELECT j.id, j.task, j.args::json, j.kwargs::json, j.queue, j.priority,
           CASE WHEN COALESCE(to_timestamp(j.run_at), now()) > now() THEN 'scheduled'
                ELSE 'queued' END,
           j.max_attempts, COALESCE(to_timestamp(j.run_at), now()), now(), j.timeout,
           j.batch_id, j.limit_key, j.key_limit, j.unique_key, j.meta::json
    FROM json_to_recordset(%(rows)s::json) AS j(
        id text, task text, args text, kwargs text, queue text, priority integer,
        max_attempts integer, run_at double precision, timeout double precision,
        batch_id text, limit_key text, key_limit integer, unique_key text, meta text)
    ON CONFLICT DO NOTHING
    RETURNING id, status, queue, run_at, created_at, meta
), labelled AS (
    INSERT INTO job_labels (key, value, job_id)
    SELECT label.key, label.value, inserted.id
    FROM inserted, meta_labels(inserted.meta) AS label
    WHERE inserted.meta::text <> '{}'
), trail AS (
    INSERT INTO job_events (job_id, at, kind, actor, to_status, data)
    SELECT id, now(), 'enqueued', %(actor)s, status, %(data)s::json FROM inserted
), notified AS (
    SELECT pg_notify(%(channel)s, json_build_object('c', 'jobs', 'q', queue)::text)
    FROM (SELECT DISTINCT queue FROM inserted WHERE status = 'queued') AS ready
)
SELECT id, status, NULLIF(run_at, now()) AS run_at,
       CASE WHEN row_number() OVER () = 1 THEN now() END AS created_at,
       CASE WHEN status = 'queued' THEN queue END AS woke,
       (SELECT count(*) FROM notified) AS notified
FROM inserted;

-- name: insert_events
-- Append trail rows from the records in %(rows)s (one statement for any number), for jobs
-- that exist: no foreign key checks it since migration 12, and a note a worker sends for
-- a job deleted by hand meanwhile is dropped here.
INSERT INTO job_events (job_id, at, kind, actor, reason, from_status, to_status, data)
SELECT e.job_id, now(), e.kind, e.actor, e.reason, e.from_status, e.to_status, e.data::json
FROM json_to_recordset(%(rows)s::json) AS e(
    job_id text, kind text, actor text, reason text, from_status text, to_status text,
    data text)
WHERE EXISTS (SELECT 1 FROM jobs WHERE jobs.id = e.job_id);

-- name: notify
-- Wake listeners (delivered when the transaction commits).
SELECT pg_notify(%(channel)s, %(payload)s);

-- name: claim_jobs
-- One statement, one round trip: due scheduled jobs -> queued; then up to %(limit)s queued
-- jobs on the worker's queues -> running for it, best first; both written to the trail.
-- (A job promoted here is claimed by the next call: both UPDATEs see the same snapshot.)
-- Limited work is left to claim_ids: queues with rules (paused or a concurrency limit)
-- and jobs with a key limit are passed over here, so this path needs no lock.
-- (id = ANY(ARRAY(...)): the chosen ids are found by the primary key. As "id IN (...)",
-- the generic plan a worker runs guessed its LIMIT at a tenth of the queue and hashed the
-- whole table for it once statistics existed: 19 ms a claim with 100,000 jobs queued,
-- 1.5 ms now; and a due job made it read every scheduled one: 23.8 ms with 100,000.)
WITH promoted AS (
    UPDATE jobs SET status = 'queued'
    WHERE id = ANY(ARRAY(SELECT id FROM jobs WHERE status = 'scheduled' AND run_at <= now()
                         FOR UPDATE SKIP LOCKED))
      AND status = 'scheduled'
    RETURNING id
), claimed AS (
    UPDATE jobs
    SET status = 'running', worker_id = %(worker_id)s, attempt = attempt + 1,
        started_at = now(), heartbeat_at = now(), finished_at = NULL, stalled_at = NULL,
        unresponsive_at = NULL, phase = NULL, progress_current = 0, progress_total = NULL,
        progress_message = NULL
    WHERE id = ANY(ARRAY(
        -- per queue, an ordered walk of the partial claim index (= ANY over the queues
        -- would sort every queued row), then the best of those across queues
        SELECT best.id
        FROM unnest(%(queues)s::text[]) AS q(name)
        CROSS JOIN LATERAL (
            SELECT id, priority, run_at FROM jobs
            WHERE status = 'queued' AND queue = q.name AND run_at <= now()
              AND (limit_key IS NULL OR key_limit IS NULL)
              AND NOT EXISTS (SELECT 1 FROM queues AS rule WHERE rule.name = q.name
                              AND (rule.paused OR rule.concurrency IS NOT NULL))
            ORDER BY priority DESC, run_at, id
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
        ) AS best
        ORDER BY best.priority DESC, best.run_at, best.id
        LIMIT %(limit)s))
    RETURNING *
), trail AS (
    INSERT INTO job_events (job_id, at, kind, actor, from_status, to_status, data)
    SELECT id, now(), 'due', 'corral', 'scheduled', 'queued', NULL FROM promoted
    UNION ALL
    SELECT id, now(), 'claimed', %(worker_id)s, 'queued', 'running',
           json_build_object('attempt', attempt)
    FROM claimed
)
SELECT * FROM claimed;

-- name: limited_work
-- Is there work only the limited claim may take: due jobs on a limited, unpaused queue, or
-- due jobs with a key limit?
SELECT EXISTS (
           SELECT 1 FROM queues AS rule
           WHERE rule.name = ANY(%(queues)s::text[]) AND NOT rule.paused
             AND rule.concurrency IS NOT NULL
             AND EXISTS (SELECT 1 FROM jobs WHERE status = 'queued' AND queue = rule.name
                         AND run_at <= now()))
    OR EXISTS (SELECT 1 FROM jobs
               WHERE status = 'queued' AND limit_key IS NOT NULL AND key_limit IS NOT NULL
                 AND queue = ANY(%(queues)s::text[]) AND run_at <= now()) AS found;

-- name: lock_claims
-- Serialize limited claims (one advisory lock per schema, held to the end of the
-- transaction), so the running counts they read are exact for every worker.
SELECT pg_advisory_xact_lock(%(claim_lock)s);

-- name: queue_rules
-- The limits and pause switches of a list of queues, with how many jobs each runs now.
SELECT name, concurrency, paused,
       (SELECT count(*) FROM jobs WHERE jobs.queue = queues.name
        AND jobs.status IN ('running', 'cancelling')) AS running
FROM queues WHERE name = ANY(%(queues)s::text[]);

-- name: limited_candidates
-- The best due jobs of ONE queue for the limited claim (all of them on a limited queue, else
-- only keyed ones); jobs whose key is at its limit are passed over.
SELECT id, queue, priority, run_at, limit_key, key_limit,
       CASE WHEN limit_key IS NULL OR key_limit IS NULL THEN 0
            ELSE (SELECT count(*) FROM jobs AS r WHERE r.limit_key = jobs.limit_key
                  AND r.status IN ('running', 'cancelling')) END AS key_running
FROM jobs
WHERE status = 'queued' AND queue = %(queue)s AND run_at <= now()
  AND (NOT %(keyed_only)s OR (limit_key IS NOT NULL AND key_limit IS NOT NULL))
  AND (limit_key IS NULL OR key_limit IS NULL
       OR (SELECT count(*) FROM jobs AS r WHERE r.limit_key = jobs.limit_key
           AND r.status IN ('running', 'cancelling')) < key_limit)
ORDER BY priority DESC, run_at, id
LIMIT %(limit)s;

-- name: claim_ids
-- queued -> running for chosen jobs, with their trail rows.
WITH claimed AS (
    UPDATE jobs
    SET status = 'running', worker_id = %(worker_id)s, attempt = attempt + 1,
        started_at = now(), heartbeat_at = now(), finished_at = NULL, stalled_at = NULL,
        unresponsive_at = NULL, phase = NULL, progress_current = 0, progress_total = NULL,
        progress_message = NULL
    WHERE status = 'queued' AND id = ANY(%(ids)s::text[])
    RETURNING *
), trail AS (
    INSERT INTO job_events (job_id, at, kind, actor, from_status, to_status, data)
    SELECT id, now(), 'claimed', %(worker_id)s, 'queued', 'running',
           json_build_object('attempt', attempt)
    FROM claimed
)
SELECT * FROM claimed;

-- name: set_queue
-- Create or change a queue's rules; NULL arguments keep what is there.
INSERT INTO queues (name, concurrency, paused, updated_at)
VALUES (%(name)s, %(concurrency)s, COALESCE(%(paused)s, false), now())
ON CONFLICT (name) DO UPDATE SET
    concurrency = CASE WHEN %(clear_concurrency)s THEN NULL
                       ELSE COALESCE(%(concurrency)s, queues.concurrency) END,
    paused = COALESCE(%(paused)s, queues.paused),
    updated_at = now();

-- name: job_counts
SELECT status AS name, count(*) AS n FROM jobs GROUP BY status
UNION ALL
SELECT 'stalled', count(*) FROM jobs
WHERE stalled_at IS NOT NULL AND status IN ('running', 'cancelling')
UNION ALL
SELECT 'finished_since', count(*) FROM jobs
WHERE status IN ('completed', 'failed', 'cancelled') AND finished_at > %(since)s;

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
    UNION SELECT unnest(queues) FROM workers WHERE state = 'running'
    UNION SELECT name FROM queues
)
SELECT names.name, queues.concurrency, COALESCE(queues.paused, false) AS paused,
       (SELECT count(*) FROM jobs WHERE queue = names.name AND status = 'queued') AS queued,
       (SELECT count(*) FROM jobs WHERE queue = names.name AND status = 'scheduled')
           AS scheduled,
       (SELECT count(*) FROM jobs WHERE queue = names.name
        AND status IN ('running', 'cancelling')) AS running
FROM names LEFT JOIN queues ON queues.name = names.name
ORDER BY names.name;

-- name: statuses_of
-- Current status and holder of the jobs in a list of ids, locked for the transition.
SELECT id, status, worker_id, attempt, cancel_requested_at, cancel_reason FROM jobs
WHERE id = ANY(%(ids)s)
ORDER BY id
FOR UPDATE;

-- part: outcome_update
-- An outcome written to its job from the records in %(rows)s, the fence and the
-- statuses it may leave left to the query: finish_running and finish_jobs.
UPDATE jobs
SET status = o.status,
    result = CASE WHEN o.has_result THEN o.result::json ELSE jobs.result END,
    error = COALESCE(o.error::jsonb, jobs.error),
    run_at = COALESCE(to_timestamp(o.run_at), jobs.run_at),
    phase = COALESCE(o.phase, jobs.phase),
    finished_at = CASE WHEN o.status = 'scheduled' THEN NULL ELSE now() END,
    worker_id = CASE WHEN o.status = 'scheduled' THEN NULL ELSE jobs.worker_id END
FROM json_to_recordset(%(rows)s::json) AS o(
    id text, worker_id text, attempt integer, status text, has_result boolean,
    result text, error text, run_at double precision, phase text)

-- name: finish_running
-- The common outcome in one statement, one round trip: jobs plainly running (no cancel
-- pending) -> the outcome's status, fenced by worker_id + attempt, each with its trail row
-- (built by the writer for from_status 'running'). A job not written here (a cancel came,
-- or it was taken away) is absent from the result and goes through finish_jobs.
-- (id = ANY: the primary key finds the rows; joined to the recordset alone, the planner
-- guesses 100 records and scans every running job. IS TRUE: see the top of this file.)
WITH done AS (
    {outcome_update}
    WHERE jobs.id = ANY(%(ids)s::text[]) AND jobs.id = o.id
      AND jobs.worker_id = o.worker_id AND jobs.attempt = o.attempt
      AND (jobs.status = 'running') IS TRUE
    RETURNING jobs.id, jobs.status
), trail AS (
    INSERT INTO job_events (job_id, at, kind, actor, reason, from_status, to_status, data)
    SELECT e.job_id, now(), e.kind, e.actor, e.reason, e.from_status, done.status,
           e.data::json
    FROM json_to_recordset(%(events)s::json) AS e(
        job_id text, kind text, actor text, reason text, from_status text, data text)
    JOIN done ON done.id = e.job_id
)
SELECT id, status FROM done;

-- name: finish_jobs
-- running|cancelling -> the outcome's status, fenced by worker_id + attempt (a cancelling
-- job is never rescheduled).
-- (id = ANY, as in finish_running: else every running job of every worker is read.)
{outcome_update}
WHERE jobs.id = ANY(%(ids)s::text[]) AND jobs.id = o.id AND jobs.worker_id = o.worker_id
  AND jobs.attempt = o.attempt
  AND (jobs.status = 'running' OR (jobs.status = 'cancelling' AND o.status != 'scheduled'))
      IS TRUE
RETURNING jobs.id, jobs.status;

-- name: record_progress
-- Latest progress and phase of held jobs; no trail row (progress is not a transition).
-- (id = ANY, as in finish_running: else every running job of every worker is read, a
-- hash join over 2,020 of them for 20 reports.)
UPDATE jobs
SET phase = p.phase, progress_current = p.current, progress_total = p.total,
    progress_message = p.message, stalled_at = NULL
FROM jsonb_to_recordset(%(rows)s::jsonb) AS p(
    id text, worker_id text, attempt integer, phase text, current double precision,
    total double precision, message text)
WHERE jobs.id = ANY(%(ids)s::text[]) AND jobs.id = p.id AND jobs.worker_id = p.worker_id
  AND jobs.attempt = p.attempt AND (jobs.status IN ('running', 'cancelling')) IS TRUE
RETURNING jobs.id;

-- name: save_result
-- Partial result of a held job (ctx.save), fenced.
UPDATE jobs SET result = %(result)s::json
WHERE id = %(id)s AND worker_id = %(worker_id)s AND attempt = %(attempt)s
  AND (status IN ('running', 'cancelling')) IS TRUE
RETURNING id;

-- name: mark_stalled
-- A held job whose progress has not moved for its stall_after.
UPDATE jobs SET stalled_at = now()
WHERE id = %(id)s AND worker_id = %(worker_id)s AND attempt = %(attempt)s
  AND (status IN ('running', 'cancelling')) IS TRUE AND stalled_at IS NULL
RETURNING id;

-- name: mark_unresponsive
-- A held job that has not stopped within cancel_grace of its cancel.
UPDATE jobs SET unresponsive_at = now()
WHERE id = %(id)s AND worker_id = %(worker_id)s AND attempt = %(attempt)s
  AND (status IN ('running', 'cancelling')) IS TRUE AND unresponsive_at IS NULL
RETURNING id;

-- name: cancel_jobs
-- scheduled|queued -> cancelled; running -> cancelling, or -> cancelled when forced
-- (forced also ends cancelling). %(statuses)s lists what may be left.
UPDATE jobs
SET status = CASE WHEN status IN ('scheduled', 'queued') OR %(force)s THEN 'cancelled'
                  ELSE 'cancelling' END,
    finished_at = CASE WHEN status IN ('scheduled', 'queued') OR %(force)s THEN now()
                       ELSE finished_at END,
    cancel_requested_at = COALESCE(cancel_requested_at, now()),
    cancel_reason = COALESCE(%(reason)s, cancel_reason),
    cancelled_by = COALESCE(%(actor)s, cancelled_by)
WHERE id = ANY(%(ids)s) AND status = ANY(%(statuses)s)
RETURNING *;

-- name: cancel_now
-- A cancel request for listed jobs in one statement, one round trip (the rules of
-- cancel_jobs): the jobs locked and read, those whose status is in %(statuses)s moved, a
-- trail row for each moved, and a NOTIFY to each worker that held a moved job. Every
-- listed job that exists comes back: its status before (before_status), its worker, and
-- the row as written when it moved (NULL columns when it did not).
WITH before AS (
    SELECT id, status, worker_id FROM jobs
    WHERE id = ANY(%(ids)s::text[])
    ORDER BY id
    FOR UPDATE
), moved AS (
    UPDATE jobs
    SET status = CASE WHEN before.status IN ('scheduled', 'queued') OR %(force)s
                      THEN 'cancelled' ELSE 'cancelling' END,
        finished_at = CASE WHEN before.status IN ('scheduled', 'queued') OR %(force)s
                           THEN now() ELSE jobs.finished_at END,
        cancel_requested_at = COALESCE(jobs.cancel_requested_at, now()),
        cancel_reason = COALESCE(%(reason)s, jobs.cancel_reason),
        cancelled_by = COALESCE(%(actor)s, jobs.cancelled_by)
    FROM before
    WHERE jobs.id = before.id AND before.status = ANY(%(statuses)s::text[])
    RETURNING jobs.*, before.status AS left_status
), trail AS (
    INSERT INTO job_events (job_id, at, kind, actor, reason, from_status, to_status, data)
    SELECT id, now(), CASE WHEN status = 'cancelled' THEN 'cancelled'
                           ELSE 'cancel_requested' END,
           %(trail_actor)s, %(trail_reason)s, left_status, status, %(data)s::json
    FROM moved
), stopped AS (
    SELECT pg_notify(%(channel)s, json_build_object(
               'c', 'cancel', 'w', worker_id, 'f', %(force)s, 'ids', json_agg(id))::text)
    FROM moved
    WHERE left_status IN ('running', 'cancelling') AND worker_id IS NOT NULL
    GROUP BY worker_id
)
SELECT before.id AS before_id, before.status AS before_status,
       before.worker_id AS before_worker, moved.*, (SELECT count(*) FROM stopped) AS stopped
FROM before LEFT JOIN moved ON moved.id = before.id;

-- name: restart_jobs
-- failed|cancelled -> queued under the same id, with a fresh attempt budget.
UPDATE jobs
SET status = 'queued', attempt_offset = attempt, run_at = now(), finished_at = NULL,
    started_at = NULL, heartbeat_at = NULL, worker_id = NULL, error = NULL, result = NULL,
    phase = NULL, progress_current = 0, progress_total = NULL, progress_message = NULL,
    cancel_requested_at = NULL, cancel_reason = NULL, cancelled_by = NULL
WHERE id = ANY(%(ids)s) AND status IN ('failed', 'cancelled')
RETURNING *;

-- name: run_now
-- scheduled -> queued, due now, for the jobs in a list of ids.
UPDATE jobs SET status = 'queued', run_at = now()
WHERE id = ANY(%(ids)s) AND status = 'scheduled'
RETURNING *;

-- name: release_jobs
-- running -> queued for a worker shutting down; the attempt is not spent. (A cancelling
-- job is not handed back: the worker records it cancelled.)
UPDATE jobs
SET status = 'queued', attempt_offset = attempt_offset + 1, run_at = now(),
    worker_id = NULL, heartbeat_at = NULL, cancel_requested_at = NULL,
    cancel_reason = NULL, cancelled_by = NULL
WHERE worker_id = %(worker_id)s AND id = ANY(%(ids)s) AND status = 'running'
RETURNING id, status, queue, attempt;

-- name: get_job
-- One job by id.
SELECT * FROM jobs WHERE id = %(id)s;

-- name: jobs_matching_id
-- Jobs whose id starts with some hex digits (a range on the primary key) or ends with them
-- (a probe of the jobs_id_tail index, then the whole suffix checked), at most :limit each.
(SELECT * FROM jobs WHERE id BETWEEN %(id_low)s AND %(id_high)s
 ORDER BY id DESC LIMIT %(limit)s)
UNION ALL
(SELECT * FROM jobs WHERE right(id, 6) = %(tail)s AND replace(id, '-', '') LIKE %(pattern)s
 LIMIT %(limit)s);

-- part: job_filters
-- The optional filters of a listing (NULL = any): list_jobs and list_jobs_labelled.
(%(statuses)s::text[] IS NULL OR status = ANY(%(statuses)s::text[]))
  AND (%(ids)s::text[] IS NULL OR id = ANY(%(ids)s::text[]))
  AND (%(queue)s::text IS NULL OR queue = %(queue)s::text)
  AND (%(task)s::text IS NULL OR task = %(task)s::text)
  AND (%(batch_id)s::text IS NULL OR batch_id = %(batch_id)s::text)
  AND (%(limit_key)s::text IS NULL OR limit_key = %(limit_key)s::text)
  AND (%(created_before)s::timestamptz IS NULL OR created_at < %(created_before)s::timestamptz)
  AND (%(created_after)s::timestamptz IS NULL OR created_at > %(created_after)s::timestamptz)
  AND (%(id_low)s::text IS NULL OR id BETWEEN %(id_low)s::text AND %(id_high)s::text)

-- name: list_jobs
-- Jobs matching optional filters (NULL = any), newest first; with meta labels,
-- list_jobs_labelled.
SELECT * FROM jobs
WHERE {job_filters}
  AND (%(before_id)s::text IS NULL OR id < %(before_id)s::text)
ORDER BY id DESC
LIMIT %(limit)s;

-- name: list_jobs_labelled
-- list_jobs with meta labels given: a walk of one label's rows in job_labels, newest job
-- first (migration 0010), each job checked against the other filters and every label
-- (the meta is the truth), stopping at %(limit)s: a page costs about a page whether the
-- label marks a few jobs or most, new or old. Of several labels the walk takes the one on
-- the fewest jobs (counted up to 10,000 each), so a crawl within a tenant walks the crawl.
-- The walk starts at the newest job older than %(before_id)s, an index bound (a generic
-- plan cannot make one of "IS NULL OR"). Each job is read by its key as the walk reaches
-- it (the LATERAL subquery with OFFSET 0 is not flattened into a join): as a join, the
-- planner read every job of the label and sorted them, or merged with a walk of every
-- newer job, taking the containment check for a rare match (3.3 ms against 0.12 for a
-- page of a label on half of 3,000 jobs).
WITH walked AS (
    SELECT label.key, label.value FROM jsonb_each(%(meta)s::jsonb) AS label
    ORDER BY CASE WHEN (SELECT count(*) FROM jsonb_object_keys(%(meta)s::jsonb)) = 1 THEN 0
                  ELSE (SELECT count(*) FROM (SELECT FROM job_labels AS counted
                                              WHERE counted.key = label.key
                                                AND counted.value = label.value
                                              LIMIT 10000) AS marked) END,
             label.key
    LIMIT 1
)
SELECT jobs.* FROM job_labels AS labels
CROSS JOIN LATERAL (SELECT * FROM jobs WHERE jobs.id = labels.job_id OFFSET 0) AS jobs
WHERE labels.key = (SELECT key FROM walked) AND labels.value = (SELECT value FROM walked)
  AND labels.job_id <= CASE WHEN %(before_id)s::text IS NULL THEN (SELECT max(id) FROM jobs)
                            ELSE (SELECT max(id) FROM jobs WHERE id < %(before_id)s::text) END
  AND jobs.meta::jsonb @> %(meta)s::jsonb AND {job_filters}
ORDER BY labels.job_id DESC
LIMIT %(limit)s;

-- name: existing_jobs
-- What an enqueue returns for the jobs it did not insert: the jobs of those ids (a retry
-- whose first attempt committed) and the active job holding each of those unique keys.
-- (Two SELECTs, not an OR: each probes its own index, the key one the partial index.)
SELECT * FROM jobs WHERE id = ANY(%(ids)s::text[])
UNION ALL
SELECT * FROM jobs
WHERE unique_key = ANY(%(keys)s::text[])
  AND status IN ('scheduled', 'queued', 'running', 'cancelling');

-- name: insert_tick
INSERT INTO periodic_ticks (name, tick, job_id) VALUES (%(name)s, %(tick)s, %(job_id)s)
ON CONFLICT (name, tick) DO NOTHING;

-- name: tick_job
-- The id of the job that holds a periodic tick (another scheduler's, or a retry's own).
SELECT job_id FROM periodic_ticks WHERE name = %(name)s AND tick = %(tick)s;

-- name: prune_ticks
DELETE FROM periodic_ticks WHERE tick < %(before)s;

-- name: insert_batch
-- A new batch; an id already taken (a retry whose first attempt committed) is skipped.
INSERT INTO batches (id, name, created_at, on_complete)
VALUES (%(id)s, %(name)s, now(), %(on_complete)s)
ON CONFLICT (id) DO NOTHING;

-- name: batches
-- Batches newest first (ids sort by creation), one of them by id, or a page older than
-- before_id, with their jobs per status and the sum of their progress ratios: one row
-- per batch and status (status NULL: a batch without jobs).
WITH page AS (
    SELECT * FROM batches
    WHERE (%(id)s::text IS NULL OR id = %(id)s::text)
      AND (%(before_id)s::text IS NULL OR id < %(before_id)s::text)
    ORDER BY id DESC
    LIMIT %(limit)s
), counts AS (
    SELECT batch_id, status, count(*) AS jobs,
           sum(CASE WHEN progress_total > 0 THEN least(progress_current / progress_total, 1.0)
                    ELSE 0 END) AS ratio_sum
    FROM jobs WHERE batch_id IN (SELECT id FROM page) GROUP BY batch_id, status
)
SELECT page.id, page.name, page.created_at, page.completed_at,
       counts.status, counts.jobs, counts.ratio_sum
FROM page LEFT JOIN counts ON counts.batch_id = page.id
ORDER BY page.id DESC;

-- name: finished_batches
-- Batches with an on_complete job not yet enqueued and no active job left; the guarded
-- UPDATE (completed_at IS NULL) makes each one happen once however many workers look.
UPDATE batches AS b SET completed_at = now()
WHERE on_complete IS NOT NULL AND completed_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM jobs AS j WHERE j.batch_id = b.id
                  AND j.status IN ('scheduled', 'queued', 'running', 'cancelling'))
RETURNING id, on_complete;

-- name: any_finished_batch
SELECT EXISTS (
    SELECT 1 FROM batches AS b
    WHERE on_complete IS NOT NULL AND completed_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM jobs AS j WHERE j.batch_id = b.id
                      AND (j.status IN ('scheduled', 'queued', 'running', 'cancelling'))
                          IS TRUE)
) AS found;

-- name: delete_jobs
-- Delete the listed jobs that are finished; trail rows go with them (a delete trigger, 0012).
DELETE FROM jobs
WHERE id = ANY(%(ids)s::text[]) AND status IN ('completed', 'failed', 'cancelled')
RETURNING id;

-- name: prune_jobs
-- Retention: finished jobs older than their status's keep period, a chunk at a time.
DELETE FROM jobs
WHERE id IN (SELECT id FROM jobs
             WHERE status IN ('completed', 'failed', 'cancelled')
               AND finished_at < CASE status WHEN 'completed' THEN %(completed_before)s
                                             ELSE %(failed_before)s END
             LIMIT %(chunk)s);

-- name: job_events
-- The audit trail of one job, oldest first.
SELECT * FROM job_events WHERE job_id = %(job_id)s ORDER BY id;

-- name: register_worker
-- A worker starts (or restarts under the same id).
INSERT INTO workers (id, host, pid, queues, concurrency, version, started_at, last_seen,
                     state, doorbell, lock_key)
VALUES (%(id)s, %(host)s, %(pid)s, %(queues)s, %(concurrency)s, %(version)s, now(), now(),
        'running', %(doorbell)s, %(lock_key)s)
ON CONFLICT (id) DO UPDATE
SET host = excluded.host, pid = excluded.pid, queues = excluded.queues,
    concurrency = excluded.concurrency, version = excluded.version,
    started_at = excluded.started_at, last_seen = excluded.last_seen,
    state = 'running', doorbell = excluded.doorbell, lock_key = excluded.lock_key,
    lock_free_since = NULL;

-- name: heartbeat
-- One statement: the worker is alive (again, if given up for dead), and every job it
-- holds is refreshed and returned.
WITH touched AS (
    UPDATE workers SET last_seen = now(), state = 'running'
    WHERE id = %(worker_id)s AND state IN ('running', 'dead')
    RETURNING id
)
UPDATE jobs SET heartbeat_at = now()
WHERE worker_id = %(worker_id)s AND status IN ('running', 'cancelling')
RETURNING id, status, attempt;

-- name: deregister_worker
-- The worker stopped cleanly.
UPDATE workers SET state = 'stopped', last_seen = now(), doorbell = NULL
WHERE id = %(worker_id)s;

-- name: list_workers
-- The worker registry, newest first.
SELECT * FROM workers ORDER BY started_at DESC;

-- name: dead_workers
-- Running workers that are dead: silent past the lease, or their session advisory lock
-- (tried here for this transaction only, so a dead key is tested, never kept) free now
-- and already free at a sighting %(confirm)s seconds ago that the worker has not cleared
-- by taking its lock again. No worker is dead by its lock within %(restart_grace)s
-- seconds of the server's start: after a restart every live worker is taking its lock
-- back at once. A first free sighting is recorded here. Rows: the dead, and the free not
-- yet dead with confirm_in, the seconds until they would be (the reaper looks then).
WITH probe AS (
    SELECT id, last_seen < now() - make_interval(secs => %(lease)s) AS silent,
           pg_try_advisory_xact_lock(lock_key) AS free,
           GREATEST(COALESCE(lock_free_since, now()) + make_interval(secs => %(confirm)s),
                    pg_postmaster_start_time() + make_interval(secs => %(restart_grace)s))
             AS dead_from,
           lock_free_since IS NULL AS unseen
    FROM workers
    WHERE state = 'running'
), sighted AS (
    UPDATE workers SET lock_free_since = now()
    WHERE id IN (SELECT id FROM probe WHERE free AND unseen)
)
SELECT id, silent OR (NOT unseen AND dead_from <= now()) AS dead,
       EXTRACT(EPOCH FROM dead_from - now())::float8 AS confirm_in
FROM probe
WHERE silent OR free;

-- name: clear_lock_sighting
-- The worker holds its liveness lock again: a free sighting from before is void.
UPDATE workers SET lock_free_since = NULL
WHERE id = %(id)s AND lock_free_since IS NOT NULL;

-- name: mark_workers_dead
-- running -> dead for workers found dead; of racing reapers one wins per worker.
UPDATE workers SET state = 'dead', lock_free_since = NULL
WHERE id = ANY(%(ids)s) AND state = 'running'
RETURNING id;

-- name: has_orphans
-- Is any job held by a worker that is not running? (cheap check before writing)
SELECT 1 FROM jobs
WHERE status IN ('running', 'cancelling')
  AND worker_id IN (SELECT id FROM workers WHERE state != 'running')
LIMIT 1;

-- name: requeue_orphans
-- running -> queued for jobs of dead or stopped workers with attempts left.
UPDATE jobs SET status = 'queued', worker_id = NULL, run_at = now(), heartbeat_at = NULL
WHERE status = 'running' AND attempt - attempt_offset < max_attempts
  AND worker_id IN (SELECT id FROM workers WHERE state != 'running')
RETURNING id, status, queue, worker_id, attempt;

-- name: fail_orphans
-- running -> failed (WorkerLost) for jobs of dead or stopped workers on their last attempt.
UPDATE jobs SET status = 'failed', finished_at = now(), error = %(error)s::jsonb
WHERE status = 'running' AND attempt - attempt_offset >= max_attempts
  AND worker_id IN (SELECT id FROM workers WHERE state != 'running')
RETURNING id, status, worker_id, attempt;

-- name: cancel_orphans
-- cancelling -> cancelled for jobs whose worker died while stopping them.
UPDATE jobs SET status = 'cancelled', finished_at = now()
WHERE status = 'cancelling'
  AND worker_id IN (SELECT id FROM workers WHERE state != 'running')
RETURNING id, status, worker_id, attempt, phase;

-- name: prune_workers
-- Forget workers dead or stopped for a while (their jobs were recovered long ago).
DELETE FROM workers
WHERE state != 'running' AND last_seen < now() - make_interval(secs => %(gone_for)s);

-- name: stuck_of_dead_workers
-- Held jobs started before the cutoff whose worker is not running.
SELECT id, status, worker_id, attempt FROM jobs
WHERE status IN ('running', 'cancelling') AND started_at < %(cutoff)s
  AND worker_id IN (SELECT id FROM workers WHERE state != 'running')
ORDER BY id
FOR UPDATE;

-- name: fail_lost_jobs
-- running|cancelling -> failed (WorkerLost) for the jobs in a list of ids.
UPDATE jobs SET status = 'failed', finished_at = now(), error = %(error)s::jsonb
WHERE id = ANY(%(ids)s) AND status IN ('running', 'cancelling')
RETURNING id, status;

-- name: stuck_preview
-- What reset_stuck would do, by reads only (its dry run): held jobs started before the
-- cutoff whose worker is not running or is in %(dead)s (lost: they would fail), and the
-- other running ones (they would be cancelled).
SELECT id, status, worker_id, lost FROM (
    SELECT id, status, worker_id,
           COALESCE(worker_id = ANY(%(dead)s::text[])
                    OR worker_id IN (SELECT id FROM workers WHERE state != 'running'),
                    false) AS lost
    FROM jobs WHERE status IN ('running', 'cancelling') AND started_at < %(cutoff)s) AS held
WHERE lost OR status = 'running'
ORDER BY id;

-- name: running_started_before
-- Running jobs started before the cutoff (reset_stuck cancels those on live workers).
SELECT id FROM jobs WHERE status = 'running' AND started_at < %(cutoff)s;

-- name: open_change_feed
-- A live feed starts (or says it is still there): the change triggers NOTIFY while any
-- feed row exists.
INSERT INTO change_feeds (id, seen_at) VALUES (%(id)s, now())
ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at;

-- name: close_change_feed
DELETE FROM change_feeds WHERE id = %(id)s;

-- name: prune_signals
-- Forget feeds that stopped saying they are there (their server died): triggers go quiet.
-- (NOTIFY needs no outbox: there is nothing else to forget.)
DELETE FROM change_feeds WHERE seen_at < %(stale_before)s;

-- name: jobs_per_queue
-- How many jobs each queue has in each status (the metrics' gauge).
SELECT queue, status, count(*) AS n FROM jobs GROUP BY queue, status;

-- name: quarantine_jobs
-- Any status -> failed (CorruptJob) for rows that cannot be read back, each guarded by the
-- status it was read in (a JSON array of {id, status, error}); other columns stay as found.
UPDATE jobs
SET status = 'failed', error = q.error::jsonb, finished_at = now(), stalled_at = NULL,
    unresponsive_at = NULL
FROM json_to_recordset(%(rows)s::json) AS q(id text, status text, error text)
WHERE jobs.id = q.id AND jobs.status = q.status
RETURNING jobs.id;

-- name: jobs_by_ids
SELECT * FROM jobs WHERE id = ANY(%(ids)s::text[]);
