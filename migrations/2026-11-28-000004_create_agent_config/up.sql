-- What agents are told to do: SNMP credentials (secrets encrypted by the api with its
-- configured key, never readable back), discovery ranges with their cycle schedules, each
-- scanned by one agent of its site, and "run now" orders waiting for their agent to connect.

CREATE TABLE snmp_credentials (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    version       text NOT NULL CHECK (version IN ('v1', 'v2c', 'v3')),
    -- SNMPv3 parameters that are not secret (NULL for v1 and v2c).
    v3_user       text,
    auth_protocol text,
    priv_protocol text,
    context       text,
    -- The secret part (community, or authentication and privacy passwords), sealed with
    -- XChaCha20-Poly1305 under the key named by key_id, bound to this row's id and tenant.
    sealed        bytea NOT NULL,
    key_id        text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((version = 'v3') = (v3_user IS NOT NULL))
);
CREATE UNIQUE INDEX snmp_credentials_tenant_name ON snmp_credentials (tenant_id, lower(name));

CREATE TABLE discovery_ranges (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id        uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    -- The agent that scans it. NULL: the site's agent (when a site has several, the one
    -- enrolled first that is not revoked, so a range is never swept twice).
    agent_id       uuid REFERENCES agents (id) ON DELETE SET NULL,
    name           text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    -- As people write them (`10.1.0.0/22, 10.2.0.10-10.2.0.50`), validated by the api.
    ranges         text NOT NULL CHECK (length(ranges) BETWEEN 1 AND 10000),
    -- SNMP credentials tried in order (ids of snmp_credentials of the same tenant).
    credential_ids uuid[] NOT NULL DEFAULT '{}',
    -- Cycle name → schedule (`schema::schedule::Schedule` as JSON).
    schedules      jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX discovery_ranges_site ON discovery_ranges (site_id, lower(name));
CREATE INDEX discovery_ranges_tenant ON discovery_ranges (tenant_id, lower(name));
CREATE INDEX discovery_ranges_credentials ON discovery_ranges USING gin (credential_ids);

-- Local (USB) printers: polled every N minutes; NULL polls them with the network counters.
ALTER TABLE agents
    ADD COLUMN usb_interval_minutes integer DEFAULT 30
        CHECK (usb_interval_minutes IS NULL OR usb_interval_minutes BETWEEN 5 AND 1440);

CREATE TABLE agent_commands (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id     uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    cycle        text NOT NULL CHECK (cycle IN ('discovery', 'counters', 'alerts')),
    range_id     uuid REFERENCES discovery_ranges (id) ON DELETE CASCADE,
    requested_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- An order not delivered by then is dropped: a "run now" from yesterday is not wanted.
    expires_at   timestamptz NOT NULL,
    delivered_at timestamptz
);
CREATE INDEX agent_commands_pending ON agent_commands (agent_id, created_at) WHERE delivered_at IS NULL;
