-- Meta labels (DESIGN §6): every top-level scalar of a job's meta as a row of its own, so
-- a label filter (list_jobs_labelled) is an index probe instead of a read of every job's
-- meta (a scan of 1M rows took seconds). No expression index can serve arbitrary keys.
-- Written by a trigger when a job is inserted (meta never changes afterwards), deleted
-- with its job. kind 'number' holds integers and reals alike (5 matches 5.0); text,
-- true, false and null keep json_each's type names. The job's meta stays the truth: the
-- query checks it again on the rows found here.
CREATE TABLE job_labels (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    kind   TEXT NOT NULL,
    value
);
CREATE INDEX job_labels_match ON job_labels (key, kind, value);
CREATE INDEX job_labels_job ON job_labels (job_id);

CREATE TRIGGER jobs_meta_labels AFTER INSERT ON jobs
WHEN new.meta != '{}' AND json_valid(new.meta) AND json_type(new.meta) = 'object'
BEGIN
    INSERT INTO job_labels (job_id, key, kind, value)
    SELECT new.id, key, CASE WHEN type IN ('integer', 'real') THEN 'number' ELSE type END,
           atom
    FROM json_each(new.meta) WHERE type NOT IN ('object', 'array');
END;

INSERT INTO job_labels (job_id, key, kind, value)
SELECT jobs.id, label.key,
       CASE WHEN label.type IN ('integer', 'real') THEN 'number' ELSE label.type END,
       label.atom
FROM jobs, json_each(jobs.meta) AS label
WHERE jobs.meta != '{}' AND json_valid(jobs.meta) AND json_type(jobs.meta) = 'object'
  AND label.type NOT IN ('object', 'array');
