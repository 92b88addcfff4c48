-- Agents: enrollment keys (made by an admin, exchanged once or a few times for an agent
-- identity), agents (each with a credential presented on every connection), and the raw
-- readings they upload, stored idempotently per (agent, sequence) before acknowledgement.

CREATE TABLE enrollment_keys (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id    uuid REFERENCES sites (id) ON DELETE SET NULL,
    name       text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    -- SHA-256 of the key; the key itself is shown once.
    key_hash   bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    -- Enrollments left; NULL means unlimited until expiry.
    uses_left  integer CHECK (uses_left IS NULL OR uses_left >= 0),
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX enrollment_keys_tenant ON enrollment_keys (tenant_id, created_at);

CREATE TABLE agents (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id         uuid REFERENCES sites (id) ON DELETE SET NULL,
    enrollment_key  uuid REFERENCES enrollment_keys (id) ON DELETE SET NULL,
    name            text NOT NULL,
    -- SHA-256 of the agent's credential.
    credential_hash bytea NOT NULL UNIQUE,
    version         text,
    enrolled_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX agents_tenant ON agents (tenant_id, lower(name));

-- One row per uploaded batch: the raw readings exactly as sent, kept so that a fixed profile
-- can re-interpret the past. The primary key makes a re-sent batch a no-op.
CREATE TABLE raw_batches (
    agent_id    uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    sequence    bigint NOT NULL CHECK (sequence > 0),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    received_at timestamptz NOT NULL DEFAULT now(),
    readings    jsonb NOT NULL,
    PRIMARY KEY (agent_id, sequence)
);
CREATE INDEX raw_batches_tenant_received ON raw_batches (tenant_id, received_at);
