-- Live feeds (server-sent events, long-polls, the web UI) hear of job changes by NOTIFY
-- on the schema's changes channel, 'corral_changes_' || left(md5(schema), 16) (channel
-- names are limited to 63 bytes): one statement-level trigger per write sends the ids of
-- the jobs inserted, deleted, or changed in a way a watcher sees (status, phase, progress,
-- result, flags), 200 ids per notification, delivered when the transaction commits.
-- Heartbeats change nothing a watcher sees and send nothing. Notifications are sent only
-- while a feed is open (a row in change_feeds), so a deployment nobody watches pays only
-- for the trigger call.

CREATE TABLE change_feeds (
    id      text PRIMARY KEY,
    seen_at timestamptz NOT NULL
);

-- SET search_path FROM CURRENT: the function finds change_feeds in its own schema even
-- when the writer's session looks elsewhere (an operator's UPDATE from psql).
CREATE FUNCTION notify_job_changes() RETURNS trigger LANGUAGE plpgsql
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
                     n.progress_message, n.result, n.attempt, n.stalled_at,
                     n.unresponsive_at, n.cancel_requested_at)
                    IS DISTINCT FROM
                    (o.status, o.phase, o.progress_current, o.progress_total,
                     o.progress_message, o.result, o.attempt, o.stalled_at,
                     o.unresponsive_at, o.cancel_requested_at)) AS changed
        GROUP BY chunk;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_inserted_notify AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION notify_job_changes();
CREATE TRIGGER jobs_updated_notify AFTER UPDATE ON jobs
    REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION notify_job_changes();
CREATE TRIGGER jobs_deleted_notify AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS old_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION notify_job_changes();
