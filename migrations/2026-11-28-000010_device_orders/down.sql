DROP INDEX devices_tenant_status;
DROP INDEX devices_tenant_seen;
