-- The trail's foreign key goes; a deleted job's trail rows go by a delete trigger instead.
--
-- The key checked every trail row as it was written, one lookup by primary key and a KEY
-- SHARE lock of the job's row per row (PostgreSQL's per-row referential trigger): 15% of
-- a bulk enqueue (10,000 jobs in alternating blocks: 42k -> 49k jobs/s), and one more
-- check for every claim and every outcome. Nothing it caught can happen: trail rows are
-- written only by corral's statements, for jobs the same statement has just inserted or
-- updated, or (notes, logs) for jobs the writing worker holds, which are not finished and
-- so cannot be deleted (only finished jobs are: delete_jobs, prune_jobs).
--
-- What its ON DELETE CASCADE did, a statement-level trigger does: one pass over the
-- statement's deleted rows, whoever deletes (corral's retention, or an operator in psql).
ALTER TABLE job_events DROP CONSTRAINT job_events_job_id_fkey;

CREATE FUNCTION job_events_follow() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM job_events WHERE job_id IN (SELECT id FROM old_jobs);
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_events_deleted AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS old_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION job_events_follow();
