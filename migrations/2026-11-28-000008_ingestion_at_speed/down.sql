CREATE INDEX counter_readings_batch ON counter_readings (agent_id, sequence);
ALTER TABLE supplies RESET (fillfactor);
ALTER TABLE devices RESET (fillfactor);
ALTER TABLE raw_batches ALTER COLUMN readings SET COMPRESSION DEFAULT;
DROP TABLE latest_counters;
