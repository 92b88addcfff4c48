DROP INDEX raw_batches_pending;
ALTER TABLE raw_batches DROP COLUMN errors, DROP COLUMN interpreted_at;
DROP TABLE device_status_history;
DROP TABLE alerts;
DROP TABLE supply_events;
DROP TABLE supplies;
DROP TABLE counter_readings;
DROP TABLE device_addresses;
DROP TABLE devices;
