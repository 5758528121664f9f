-- Short ids (DESIGN §1): a person names a job by a suffix of its id (the short id is the
-- last 12 hex digits). The last 6 characters of every id are hex digits of its random
-- part; indexing them makes a suffix lookup one probe (about one row in 16 million
-- shares them) instead of a scan of every id. Prefixes need nothing: they are a range
-- on the primary key. Queries must spell the expression exactly: substr(id, -6).
CREATE INDEX jobs_id_tail ON jobs (substr(id, -6));
