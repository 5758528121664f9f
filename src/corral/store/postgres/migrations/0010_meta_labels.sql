-- Meta labels (DESIGN §6) as rows of their own, as SQLite keeps them (its 0007): every
-- top-level scalar of a job's meta, indexed by label and then job id, so a page of a
-- label walks its jobs newest first and stops at the page (list_jobs_labelled) however
-- many jobs carry the label and however old they are. The GIN index this replaces gave
-- every job a label marks, to be sorted: a label on many old jobs and few new ones (a
-- tenant's) read them all, ~1 us a job. Jobs without labels write nothing here.
-- Written and deleted with the jobs by statement-level triggers (meta never changes after
-- the insert). The job's meta stays the truth: the listing checks it on every row.
CREATE TABLE job_labels (
    key    text NOT NULL,
    value  jsonb NOT NULL,
    job_id text NOT NULL
);

-- The labels of one job's meta (an inlined SQL function: the trigger, the backfill and
-- the delete read the same rows). Callers skip meta '{}' first, the common case.
CREATE FUNCTION meta_labels(meta json) RETURNS TABLE (key text, value jsonb)
LANGUAGE sql IMMUTABLE AS $$
    SELECT label.key, label.value
    FROM jsonb_each(CASE WHEN json_typeof(meta) = 'object' THEN meta::jsonb END) AS label
    WHERE jsonb_typeof(label.value) NOT IN ('object', 'array')
$$;

CREATE FUNCTION job_labels_follow() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO job_labels (key, value, job_id)
        SELECT label.key, label.value, new_jobs.id
        FROM new_jobs, meta_labels(new_jobs.meta) AS label
        WHERE new_jobs.meta::text <> '{}';
    ELSE
        DELETE FROM job_labels AS labels
        USING old_jobs, meta_labels(old_jobs.meta) AS label
        WHERE old_jobs.meta::text <> '{}' AND labels.key = label.key
          AND labels.value = label.value AND labels.job_id = old_jobs.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_labels_inserted AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION job_labels_follow();
CREATE TRIGGER jobs_labels_deleted AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS old_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION job_labels_follow();

INSERT INTO job_labels (key, value, job_id)
SELECT label.key, label.value, jobs.id
FROM jobs, meta_labels(jobs.meta) AS label
WHERE jobs.meta::text <> '{}';

CREATE INDEX job_labels_match ON job_labels (key, value, job_id);
DROP INDEX jobs_meta;
