-- Faults to repairs. A work order is opened for a device's fault by a person or by a tenant's
-- rule (from the alerts the ingestion stores), with the catalogue's estimate priced at the
-- labour rate of the skill needed; it goes through a status workflow whose every step, comment
-- and assignment is an event; when telemetry shows the fault cleared it is proposed for
-- closing, or closed by rule once the counters move again. Money in millionths.

-- What an hour of work costs, per skill, set by a tenant for its devices and its customers'
-- (the nearest tenant up the tree with a rate applies).
CREATE TABLE labour_rates (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    skill        text NOT NULL CHECK (skill IN ('user', 'trained_user', 'field_technician')),
    hourly_rate  bigint NOT NULL CHECK (hourly_rate >= 0),
    currency     text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    PRIMARY KEY (tenant_id, skill)
);

-- Which new alerts open a work order by themselves, for a tenant's devices and its customers'.
CREATE TABLE work_order_rules (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                text NOT NULL,
    -- Only this catalogue fault type (null: any maintenance fault).
    fault_type          text,
    -- The least severity that opens one.
    min_severity        text NOT NULL DEFAULT 'critical' CHECK (min_severity IN ('warning', 'critical')),
    -- The least skill needed that opens one (null: any).
    min_skill           text CHECK (min_skill IN ('user', 'trained_user', 'field_technician')),
    -- Close by itself once the fault cleared and pages print again (else only proposed).
    close_when_cleared  boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX work_order_rules_tenant ON work_order_rules (tenant_id);

CREATE TABLE work_orders (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The device's tenant (the customer), so that a customer sees its repairs.
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    device_id          uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    alert_id           uuid REFERENCES alerts (id) ON DELETE SET NULL,
    rule_id            uuid REFERENCES work_order_rules (id) ON DELETE SET NULL,
    fault_type         text NOT NULL,
    title              text NOT NULL,
    skill              text NOT NULL CHECK (skill IN ('user', 'trained_user', 'field_technician')),
    specialist         boolean NOT NULL,
    estimated_minutes  integer NOT NULL CHECK (estimated_minutes >= 0),
    -- Null: no labour rate is set for the skill.
    estimated_labour   bigint CHECK (estimated_labour >= 0),
    estimated_parts    bigint NOT NULL CHECK (estimated_parts >= 0),
    status             text NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'assigned', 'in_progress', 'waiting_parts', 'closed', 'cancelled')),
    assignee_id        uuid REFERENCES users (id) ON DELETE SET NULL,
    -- Null: opened by a rule.
    opened_by          uuid REFERENCES users (id) ON DELETE SET NULL,
    opened_at          timestamptz NOT NULL DEFAULT now(),
    fault_started_at   timestamptz NOT NULL,
    -- When telemetry showed the fault gone (the alert ended).
    fault_cleared_at   timestamptz,
    close_proposed     boolean NOT NULL DEFAULT false,
    closed_at          timestamptz,
    -- What the repair took, recorded at closing (null: the estimate stands in).
    labour_minutes     integer CHECK (labour_minutes >= 0),
    parts_cost         bigint CHECK (parts_cost >= 0),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((status IN ('closed', 'cancelled')) = (closed_at IS NOT NULL))
);
-- One work order per alert, whoever opens it first.
CREATE UNIQUE INDEX work_orders_alert ON work_orders (alert_id) WHERE alert_id IS NOT NULL;
CREATE INDEX work_orders_tenant_open ON work_orders (tenant_id, opened_at DESC) WHERE closed_at IS NULL;
CREATE INDEX work_orders_tenant_closed ON work_orders (tenant_id, closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX work_orders_device ON work_orders (device_id, opened_at DESC);
-- Open work orders whose fault telemetry still has to settle.
CREATE INDEX work_orders_following ON work_orders (alert_id) WHERE closed_at IS NULL AND alert_id IS NOT NULL;

-- Every step of a work order: opened, status changes, assignments, comments, telemetry.
CREATE TABLE work_order_events (
    id             bigserial PRIMARY KEY,
    work_order_id  uuid NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    at             timestamptz NOT NULL DEFAULT now(),
    -- Null: the platform (a rule or telemetry).
    actor_id       uuid REFERENCES users (id) ON DELETE SET NULL,
    kind           text NOT NULL CHECK (kind IN ('opened', 'status', 'assigned', 'comment', 'cleared', 'close_proposed')),
    from_status    text,
    to_status      text,
    assignee_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    body           text
);
CREATE INDEX work_order_events_order ON work_order_events (work_order_id, id);

-- Alerts the maintenance worker has not looked at yet (rules are applied once per alert);
-- those stored before this migration are not looked at.
ALTER TABLE alerts ADD COLUMN triaged boolean NOT NULL DEFAULT false;
UPDATE alerts SET triaged = true;
CREATE INDEX alerts_untriaged ON alerts (started_at) WHERE NOT triaged;
