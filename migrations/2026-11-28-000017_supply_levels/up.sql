-- A supply's level history, kept when the level changes (not at every reading): each row is
-- the first reading at a new level, with the device's total page counter then, so that the
-- forecast measures the cartridge's fall against the pages it printed from many points
-- (robust to one odd reading, right for sensors that report in steps).
CREATE TABLE supply_levels (
    device_id     uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    supply_index  integer NOT NULL,
    at            timestamptz NOT NULL,
    percent       double precision NOT NULL,
    -- The total page counter of the same reading (null: the device reports none).
    total_pages   bigint,
    PRIMARY KEY (device_id, supply_index, at)
);
