ALTER TABLE cycle_reports DROP COLUMN batches_not_kept;
