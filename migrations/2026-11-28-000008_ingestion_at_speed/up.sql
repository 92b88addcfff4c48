-- The latest reading of every counter of each device, kept by ingestion beside the history:
-- the previous value a new reading is judged against (one indexed row instead of a scan of
-- the device's history), and the counters a device list shows.
CREATE TABLE latest_counters (
    device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    tenant_id uuid NOT NULL,
    kind      text NOT NULL,
    read_at   timestamptz NOT NULL,
    value     bigint NOT NULL,
    flag      text,
    agent_id  uuid NOT NULL,
    sequence  bigint NOT NULL,
    PRIMARY KEY (device_id, kind)
) WITH (fillfactor = 70);

INSERT INTO latest_counters (device_id, tenant_id, kind, read_at, value, flag, agent_id, sequence)
SELECT DISTINCT ON (c.device_id, c.kind) c.device_id, c.tenant_id, c.kind, c.read_at, c.value, c.flag, c.agent_id, c.sequence
FROM counter_readings c JOIN devices d ON d.id = c.device_id
ORDER BY c.device_id, c.kind, c.read_at DESC;

-- Raw batches are large JSON documents written once and read rarely: lz4 compresses them at a
-- fraction of pglz's CPU (a server built without lz4 keeps pglz).
DO $$
BEGIN
    ALTER TABLE raw_batches ALTER COLUMN readings SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available: raw batches stay compressed with pglz';
END $$;

-- Every reading rewrites its device's row, supplies and latest counters: room left in each
-- page lets PostgreSQL update them in place (HOT) instead of adding to every index.
ALTER TABLE devices SET (fillfactor = 70);
ALTER TABLE supplies SET (fillfactor = 70);

-- Nothing looks counter readings up by batch (a value names its batch; not the other way):
-- one index less to maintain for every counter read.
DROP INDEX counter_readings_batch;
