-- What a technician needs to judge a fault.
-- The device's own word on who must clear an alert (prtAlertTrainingLevel: untrained,
-- trained, field_service, management, …): with the fault catalogue it says whether a
-- specialist is needed.
ALTER TABLE alerts ADD COLUMN training_level text;
-- The decoded hrPrinterDetectedErrorState bits behind the device's current status
-- (jammed, door_open, …); their history stays in device_status_history.
ALTER TABLE devices ADD COLUMN status_errors text[] NOT NULL DEFAULT '{}';
-- Asleep: fine, but it answered only after a timeout (power save).
ALTER TABLE devices DROP CONSTRAINT devices_status_check,
    ADD CONSTRAINT devices_status_check CHECK (status IN ('ok', 'warning', 'error', 'offline', 'asleep', 'unknown'));
