DROP TABLE raw_batches;
DROP TABLE agents;
DROP TABLE enrollment_keys;
