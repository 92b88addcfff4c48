-- What a tenant e-mails its users about at all (each user then chooses within it); a tenant
-- without a row sends every kind.
CREATE TABLE tenant_notification_settings (
    tenant_id       uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    critical_alert  boolean NOT NULL DEFAULT true,
    supply_reorder  boolean NOT NULL DEFAULT true,
    work_order      boolean NOT NULL DEFAULT true
);
