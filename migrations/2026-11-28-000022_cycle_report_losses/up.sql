-- What an agent's spool did not keep during a cycle (full: refused, or older batches dropped).
ALTER TABLE cycle_reports ADD COLUMN batches_not_kept integer NOT NULL DEFAULT 0 CHECK (batches_not_kept >= 0);
