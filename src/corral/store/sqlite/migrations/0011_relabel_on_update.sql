-- A job's label rows follow a hand-made change of its meta (an operator's `UPDATE jobs
-- SET meta = ...` in the sqlite3 shell): corral itself writes meta only at the insert, so
-- the rows of 0007 were written then and a later edit left them stale, and a label added
-- by hand could not be found. The trigger names the meta column alone: corral's own
-- updates (claims, outcomes, heartbeats) never set meta and never fire it.
CREATE TRIGGER jobs_meta_relabelled AFTER UPDATE OF meta ON jobs
WHEN old.meta IS NOT new.meta
BEGIN
    DELETE FROM job_labels WHERE job_id = new.id;
    INSERT INTO job_labels (job_id, key, kind, value)
    SELECT new.id, key, CASE WHEN type IN ('integer', 'real') THEN 'number' ELSE type END,
           atom
    FROM json_each(CASE WHEN json_valid(new.meta) AND json_type(new.meta) = 'object'
                        THEN new.meta ELSE '{}' END)
    WHERE type NOT IN ('object', 'array');
END;
