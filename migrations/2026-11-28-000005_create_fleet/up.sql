-- The fleet as readings make it: devices with their identity, the counters read (partitioned
-- by month), current supplies and what happened to them, alerts with start and end, status
-- history. Every derived row names the raw batch it came from, so a fixed profile can rewrite
-- them (reinterpretation) and any value can be traced back to what the device said.

CREATE TABLE devices (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id       uuid REFERENCES sites (id) ON DELETE SET NULL,
    agent_id      uuid REFERENCES agents (id) ON DELETE SET NULL,
    range_id      uuid REFERENCES discovery_ranges (id) ON DELETE SET NULL,
    -- snmp: read over the network; local: a USB printer read by its agent over IPP.
    kind          text NOT NULL DEFAULT 'snmp' CHECK (kind IN ('snmp', 'local')),
    -- Identity, strongest first: serial, then MAC, then SNMPv3 engine id.
    serial        text,
    mac           text,
    engine_id     text,
    -- Where it is now: an IPv4 address, or for local printers the agent's name for it.
    address       text NOT NULL,
    port          integer NOT NULL DEFAULT 161,
    host_name     text,
    credential_id uuid REFERENCES snmp_credentials (id) ON DELETE SET NULL,
    vendor        text,
    model         text,
    firmware      text,
    location      text,
    profile       text[] NOT NULL DEFAULT '{}',
    -- What the counters and alerts cycles read (`schema::profiles::ReadPlan` as JSON).
    read_plan     jsonb,
    status        text NOT NULL DEFAULT 'unknown'
                  CHECK (status IN ('ok', 'warning', 'error', 'offline', 'unknown')),
    first_seen_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX devices_tenant_serial ON devices (tenant_id, serial) WHERE serial IS NOT NULL;
CREATE INDEX devices_tenant_mac ON devices (tenant_id, mac) WHERE mac IS NOT NULL;
CREATE INDEX devices_tenant_engine ON devices (tenant_id, engine_id) WHERE engine_id IS NOT NULL;
CREATE INDEX devices_agent ON devices (agent_id);
CREATE INDEX devices_tenant_address ON devices (tenant_id, address);

-- Where a device was seen, one row per stretch at one address (IP and host-name changes).
CREATE TABLE device_addresses (
    device_id     uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    address       text NOT NULL,
    host_name     text,
    agent_id      uuid REFERENCES agents (id) ON DELETE SET NULL,
    site_id       uuid REFERENCES sites (id) ON DELETE SET NULL,
    first_seen_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    PRIMARY KEY (device_id, first_seen_at)
);

-- Counter readings, one row per (device, kind, time), partitioned by month of reading.
-- `flag` marks a value stored but not to be billed as is: it went down, it wrapped at 2^32,
-- colour exceeded total, or it grew faster than the device can print.
CREATE TABLE counter_readings (
    device_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    read_at   timestamptz NOT NULL,
    kind      text NOT NULL,
    value     bigint NOT NULL,
    flag      text CHECK (flag IN ('decrease', 'wrap', 'color_above_total', 'implausible_jump')),
    agent_id  uuid NOT NULL,
    sequence  bigint NOT NULL,
    PRIMARY KEY (device_id, kind, read_at)
) PARTITION BY RANGE (read_at);
CREATE TABLE counter_readings_default PARTITION OF counter_readings DEFAULT;
CREATE INDEX counter_readings_tenant_read ON counter_readings (tenant_id, read_at);
CREATE INDEX counter_readings_batch ON counter_readings (agent_id, sequence);

-- The latest state of each supply of each device.
CREATE TABLE supplies (
    device_id       uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    tenant_id       uuid NOT NULL,
    supply_index    integer NOT NULL,
    kind            text NOT NULL,
    color           text,
    description     text,
    level           bigint,
    max_capacity    bigint,
    percent         double precision,
    state           text NOT NULL,
    unit            text,
    receptacle      boolean NOT NULL DEFAULT false,
    part_number     text,
    serial          text,
    remaining_pages bigint,
    installed_at    timestamptz,
    read_at         timestamptz NOT NULL,
    agent_id        uuid NOT NULL,
    sequence        bigint NOT NULL,
    PRIMARY KEY (device_id, supply_index)
);
CREATE INDEX supplies_tenant_percent ON supplies (tenant_id, percent);

CREATE TABLE supply_events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    device_id    uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    tenant_id    uuid NOT NULL,
    supply_index integer NOT NULL,
    at           timestamptz NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('installed', 'serial_changed', 'level_jumped_up', 'removed')),
    detail       jsonb NOT NULL DEFAULT '{}',
    agent_id     uuid NOT NULL,
    sequence     bigint NOT NULL
);
CREATE INDEX supply_events_device_at ON supply_events (device_id, at);

CREATE TABLE alerts (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    device_id   uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    tenant_id   uuid NOT NULL,
    -- What makes two readings the same alert: fault type, code and where.
    key         text NOT NULL,
    code        bigint,
    severity    text NOT NULL,
    fault_type  text NOT NULL,
    description text,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    agent_id    uuid NOT NULL,
    sequence    bigint NOT NULL
);
CREATE UNIQUE INDEX alerts_open ON alerts (device_id, key) WHERE ended_at IS NULL;
CREATE INDEX alerts_tenant_started ON alerts (tenant_id, started_at);

CREATE TABLE device_status_history (
    device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    status    text NOT NULL,
    errors    text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (device_id, at)
);

-- Ingestion state of each raw batch: interpreted (when), or the error that stopped a reading
-- (the batch stays, raw, for a fixed profile or a fix to interpret later).
ALTER TABLE raw_batches
    ADD COLUMN interpreted_at timestamptz,
    ADD COLUMN errors jsonb;
CREATE INDEX raw_batches_pending ON raw_batches (received_at) WHERE interpreted_at IS NULL;
