-- A job's label rows follow a hand-made change of its meta (an operator's `UPDATE jobs
-- SET meta = ...` in psql): corral itself writes meta only at the insert, so the rows of
-- 0010 were written then and a later edit left them stale, and a label added by hand
-- could not be found. A row-level trigger on the meta column alone: corral's own updates
-- (claims, outcomes, heartbeats) never name meta and never fire it.
CREATE FUNCTION job_labels_refollow() RETURNS trigger LANGUAGE plpgsql
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
    EXECUTE FUNCTION job_labels_refollow();
