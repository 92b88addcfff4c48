ALTER TABLE devices DROP COLUMN status_errors;
ALTER TABLE alerts DROP COLUMN training_level;
