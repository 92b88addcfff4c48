ALTER TABLE agents DROP COLUMN disconnected_at, DROP COLUMN connected_at;
DROP INDEX alerts_tenant_open;
DROP INDEX alerts_device_started;
DROP INDEX devices_search;
DROP INDEX devices_site_sort;
DROP INDEX devices_tenant_sort;
ALTER TABLE devices DROP COLUMN search_text, DROP COLUMN sort_key;
