-- Every queue that has jobs is listed (GET /queues, /stats, `corral queues`), finished
-- ones too (issue 15, item 11): queue_stats finds their names by a skip scan of this
-- index (one seek per queue, not a walk of every row) and counts each queue's active
-- jobs from it without reading the table.
CREATE INDEX jobs_queue ON jobs (queue, status);
