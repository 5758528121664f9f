-- A page of a label walks its jobs newest first (list_jobs_labelled): the label's rows in
-- job id order, so a page costs a page however many jobs carry the label and however old
-- they are, where the index of 0007 returned every job a label marks, to be sorted (a
-- label on many old jobs and few new ones read all of them).
DROP INDEX job_labels_match;
CREATE INDEX job_labels_match ON job_labels (key, kind, value, job_id);
