-- Page accounting: the pages of each meter (one counter of one device) per local day of its
-- site, as billing sees them (`schema::accounting`: wraps, resets and glitches survived,
-- missed reads spread by time, implausible steps held for review with their readings as
-- evidence). Kept by the jobs worker from the counter readings; months are sums of days.
CREATE TABLE page_counts (
    device_id   uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    day         date NOT NULL,
    pages       bigint NOT NULL CHECK (pages >= 0),
    held        bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
    reasons     text[] NOT NULL DEFAULT '{}',
    -- [[read_at, value], …]: the readings at both ends of each held step.
    evidence    jsonb,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, kind, day)
);
CREATE INDEX page_counts_tenant_day ON page_counts (tenant_id, day);

-- Meters to count again from `since` (new, late or reinterpreted readings): written in the
-- same transaction as the readings, drained by the accounting worker (an outbox: no reading
-- is stored without its recount being due, and a failed recount stays due).
CREATE TABLE accounting_outbox (
    device_id uuid PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    since     timestamptz NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounting_outbox_queued ON accounting_outbox (queued_at);

-- Every device with readings is due once (counts of the readings stored before this table).
INSERT INTO accounting_outbox (device_id, since)
SELECT device_id, min(read_at) FROM counter_readings GROUP BY device_id;
