-- How each agent cycle went, as the agent reported it: what the console shows on an agent's
-- page and what tells a dealer that a site's printers stopped answering.
CREATE TABLE cycle_reports (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id       uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    cycle          text NOT NULL CHECK (cycle IN ('discovery', 'counters', 'alerts')),
    range_id       text,
    started_at     timestamptz NOT NULL,
    duration_ms    bigint NOT NULL CHECK (duration_ms >= 0),
    devices_read   integer NOT NULL CHECK (devices_read >= 0),
    devices_failed integer NOT NULL CHECK (devices_failed >= 0),
    devices_asleep integer NOT NULL CHECK (devices_asleep >= 0),
    received_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cycle_reports_agent_started ON cycle_reports (agent_id, started_at DESC);
CREATE INDEX cycle_reports_tenant_received ON cycle_reports (tenant_id, received_at);
