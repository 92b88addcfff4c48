UPDATE devices SET status = 'ok' WHERE status = 'asleep';
ALTER TABLE devices DROP CONSTRAINT devices_status_check,
    ADD CONSTRAINT devices_status_check CHECK (status IN ('ok', 'warning', 'error', 'offline', 'unknown'));
ALTER TABLE devices DROP COLUMN status_errors;
ALTER TABLE alerts DROP COLUMN training_level;
