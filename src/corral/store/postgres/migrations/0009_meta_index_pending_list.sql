-- A GIN index queues new entries in a "pending list" that every lookup reads end to end
-- until the list is merged into the tree (by VACUUM, or by the insert that fills it to
-- gin_pending_list_limit, 4 MB by default, which then waits for the whole merge). At 1M
-- labelled jobs a label lookup read ~400 pages of pending entries (5.6 ms) instead of 3.
-- A 256 kB list bounds that read to 32 pages and each merge to a small one; entries
-- written straight into the tree (fastupdate off) cost labelled jobs' inserts and status
-- changes ~8% more and bought nothing over this (bench/PROFILES.md, issue 20).
ALTER INDEX jobs_meta SET (gin_pending_list_limit = 256);
SELECT gin_clean_pending_list('jobs_meta'::regclass);
