-- Notifications: webhooks (per tenant, signed with their secret), users' e-mail preferences,
-- the notifications themselves (one per source: an alert, a work-order step, a cartridge at
-- its re-order level) and their deliveries, which the notification worker sends with retries.
CREATE TABLE webhooks (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url         text NOT NULL CHECK (url ~ '^https?://'),
    -- The HMAC key receivers check signatures with (shown once, at creation).
    secret      text NOT NULL,
    events      text[] NOT NULL CHECK (events <@ ARRAY['critical_alert', 'supply_reorder', 'work_order']::text[]),
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id);

CREATE TABLE notification_preferences (
    user_id         uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    critical_alert  boolean NOT NULL DEFAULT true,
    supply_reorder  boolean NOT NULL DEFAULT false,
    work_order      boolean NOT NULL DEFAULT true
);

CREATE TABLE notifications (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('critical_alert', 'supply_reorder', 'work_order')),
    -- What it is about, once: alert:<id>, work-order-event:<id>, reorder:<device>:<index>:<cartridge>.
    source      text NOT NULL UNIQUE,
    subject     text NOT NULL,
    body        text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_tenant ON notifications (tenant_id, created_at DESC);

CREATE TABLE deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    notification_id  uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    channel          text NOT NULL CHECK (channel IN ('email', 'webhook')),
    -- The e-mail address or the webhook's URL.
    target           text NOT NULL,
    webhook_id       uuid REFERENCES webhooks (id) ON DELETE SET NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    sent_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_notification ON deliveries (notification_id);

-- What the notification worker has looked at; earlier rows are not notified.
ALTER TABLE alerts ADD COLUMN notified boolean NOT NULL DEFAULT false;
UPDATE alerts SET notified = true;
CREATE INDEX alerts_unnotified ON alerts (started_at) WHERE NOT notified;
ALTER TABLE work_order_events ADD COLUMN notified boolean NOT NULL DEFAULT false;
UPDATE work_order_events SET notified = true;
CREATE INDEX work_order_events_unnotified ON work_order_events (id) WHERE NOT notified;
