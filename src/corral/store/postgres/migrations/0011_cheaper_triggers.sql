-- Cheaper writes of one job, and labels that follow a hand-made edit of meta.
--
-- The statement-level triggers on jobs ran a PL/pgSQL function for every statement that
-- touched it, whatever it wrote: 85 us of a one-job enqueue's ~465 (the insert's round
-- trip), 33 us of every claim, outcome and cancel. Measured apart, in alternating blocks:
-- - labels (0010): the function read the statement's new rows for labelled meta, ~52 us
--   even when no job had any. The enqueue's own statement (insert_jobs) now writes the
--   label rows of the jobs it inserts, in the same statement; it is the only statement
--   that inserts jobs (a job inserted by hand in psql gets no label rows);
-- - the change feed (0003, 0005): the channel name was worked out (md5) before the check
--   that any feed is open, ~20 us; now after it.
--
-- A job's label rows follow a hand-made change of its meta (an operator's `UPDATE jobs
-- SET meta = ...` in psql): corral writes meta only at the insert, so an edit left the
-- rows stale and a label added by hand could not be found. A row-level trigger on the
-- meta column alone: corral's own updates never name meta and never fire it. Deletes keep
-- their statement-level trigger (one pass over a prune's rows).

DROP TRIGGER jobs_labels_inserted ON jobs;

CREATE FUNCTION job_labels_rewrite() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM job_labels WHERE job_id = OLD.id;
    INSERT INTO job_labels (key, value, job_id)
    SELECT label.key, label.value, NEW.id FROM meta_labels(NEW.meta) AS label;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_labels_updated AFTER UPDATE OF meta ON jobs
    FOR EACH ROW WHEN (OLD.meta::text IS DISTINCT FROM NEW.meta::text)
    EXECUTE FUNCTION job_labels_rewrite();

-- 0010's function, for deletes alone now.
CREATE OR REPLACE FUNCTION job_labels_follow() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM job_labels AS labels
    USING old_jobs, meta_labels(old_jobs.meta) AS label
    WHERE old_jobs.meta::text <> '{}' AND labels.key = label.key
      AND labels.value = label.value AND labels.job_id = old_jobs.id;
    RETURN NULL;
END
$$;

-- As 0005's, the channel worked out only once a feed is known to be open.
CREATE OR REPLACE FUNCTION notify_job_changes() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    channel text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM change_feeds) THEN
        RETURN NULL;
    END IF;
    channel := 'corral_changes_' || left(md5(TG_TABLE_SCHEMA), 16);
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
