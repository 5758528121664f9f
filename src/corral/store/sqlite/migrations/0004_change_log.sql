-- The change log that live feeds (server-sent events, long-polls, the web UI) read by
-- last-seen id: one row per job inserted, deleted, or changed in a way a watcher sees
-- (status, phase, progress, result, flags), written by triggers in the writer's
-- transaction. Heartbeats change nothing a watcher sees and write no row.
-- Rows are written only while a feed is open (a row in change_feeds), so a deployment
-- that nobody watches pays nothing for it.

CREATE TABLE change_feeds (
    id      TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);

-- AUTOINCREMENT: ids are never reused after pruning, so feeds can go by last-seen id.
CREATE TABLE job_changes (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL
);

CREATE TRIGGER jobs_inserted_log AFTER INSERT ON jobs
WHEN EXISTS (SELECT 1 FROM change_feeds)
BEGIN
    INSERT INTO job_changes (job_id) VALUES (NEW.id);
END;

CREATE TRIGGER jobs_updated_log AFTER UPDATE ON jobs
WHEN EXISTS (SELECT 1 FROM change_feeds)
 AND (OLD.status IS NOT NEW.status OR OLD.phase IS NOT NEW.phase
      OR OLD.progress_current IS NOT NEW.progress_current
      OR OLD.progress_total IS NOT NEW.progress_total
      OR OLD.progress_message IS NOT NEW.progress_message
      OR OLD.result IS NOT NEW.result OR OLD.attempt IS NOT NEW.attempt
      OR OLD.stalled_at IS NOT NEW.stalled_at OR OLD.unresponsive_at IS NOT NEW.unresponsive_at
      OR OLD.cancel_requested_at IS NOT NEW.cancel_requested_at)
BEGIN
    INSERT INTO job_changes (job_id) VALUES (NEW.id);
END;

CREATE TRIGGER jobs_deleted_log AFTER DELETE ON jobs
WHEN EXISTS (SELECT 1 FROM change_feeds)
BEGIN
    INSERT INTO job_changes (job_id) VALUES (OLD.id);
END;
