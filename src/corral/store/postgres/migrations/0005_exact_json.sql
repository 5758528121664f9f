-- The caller's JSON comes back exactly as it was written (issue 14, item 8): args, kwargs,
-- meta, result, a batch's on_complete job and the trail's data are `json`, which keeps
-- the text it is given, instead of `jsonb`, which normalizes it (1e16 read back as an
-- int, -0.0 as 0, object keys re-ordered). The SQLite store keeps text already.
-- Values stored before this migration went through jsonb: they stay as jsonb printed them.
-- The ALTERs rewrite the tables under an exclusive lock: on a big jobs table, run
-- `corral migrate` in a quiet moment, and restart workers and servers after it (a process
-- that ran before it holds prepared plans of `SELECT * FROM jobs`, which PostgreSQL then
-- refuses: "cached plan must not change result type").
-- error stays jsonb: it holds corral's own strings ({type, message, traceback}), which
-- jsonb keeps exactly.

ALTER TABLE jobs
    ALTER COLUMN args DROP DEFAULT,
    ALTER COLUMN kwargs DROP DEFAULT,
    ALTER COLUMN meta DROP DEFAULT;
ALTER TABLE jobs
    ALTER COLUMN args TYPE json USING args::json,
    ALTER COLUMN kwargs TYPE json USING kwargs::json,
    ALTER COLUMN result TYPE json USING result::json,
    ALTER COLUMN meta TYPE json USING meta::json;
ALTER TABLE jobs
    ALTER COLUMN args SET DEFAULT '[]',
    ALTER COLUMN kwargs SET DEFAULT '{}',
    ALTER COLUMN meta SET DEFAULT '{}';
ALTER TABLE batches ALTER COLUMN on_complete TYPE json USING on_complete::json;
ALTER TABLE job_events ALTER COLUMN data TYPE json USING data::json;

-- Meta labels are matched by top-level key (meta={"crawl_job_id": 5}) on meta::jsonb, so
-- numbers compare by value (5 matches 5.0) and nested objects ignore key order.
CREATE INDEX jobs_meta ON jobs USING gin ((meta::jsonb) jsonb_path_ops);

-- json has no equality operator: the change trigger compares result as text (a result
-- rewritten with other text is a change a watcher may see; an identical one is not).
CREATE OR REPLACE FUNCTION notify_job_changes() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    channel text := 'corral_changes_' || left(md5(TG_TABLE_SCHEMA), 16);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM change_feeds) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify(channel, string_agg(id, ','))
        FROM (SELECT id, (row_number() OVER ()) / 200 AS chunk FROM new_jobs) AS changed
        GROUP BY chunk;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify(channel, string_agg(id, ','))
        FROM (SELECT id, (row_number() OVER ()) / 200 AS chunk FROM old_jobs) AS changed
        GROUP BY chunk;
    ELSE
        PERFORM pg_notify(channel, string_agg(id, ','))
        FROM (SELECT n.id, (row_number() OVER ()) / 200 AS chunk
              FROM new_jobs AS n JOIN old_jobs AS o ON o.id = n.id
              WHERE (n.status, n.phase, n.progress_current, n.progress_total,
                     n.progress_message, n.result::text, n.attempt, n.stalled_at,
                     n.unresponsive_at, n.cancel_requested_at)
                    IS DISTINCT FROM
                    (o.status, o.phase, o.progress_current, o.progress_total,
                     o.progress_message, o.result::text, o.attempt, o.stalled_at,
                     o.unresponsive_at, o.cancel_requested_at)) AS changed
        GROUP BY chunk;
    END IF;
    RETURN NULL;
END
$$;
