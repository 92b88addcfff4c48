-- What the fleet API lists and searches by: devices in a stable order (vendor, model, address)
-- for keyset pagination, found by any part of their serial, model, address, host name or
-- location (trigram index: "contains" searches stay fast at 100,000 devices).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE devices
    ADD COLUMN sort_key text GENERATED ALWAYS AS (
        lower(coalesce(vendor, '') || ' ' || coalesce(model, '') || ' ' || address)
    ) STORED,
    ADD COLUMN search_text text GENERATED ALWAYS AS (
        lower(coalesce(serial, '') || ' ' || coalesce(model, '') || ' ' || coalesce(vendor, '') || ' ' || address
              || ' ' || coalesce(host_name, '') || ' ' || coalesce(location, '') || ' ' || coalesce(mac, ''))
    ) STORED;
CREATE INDEX devices_tenant_sort ON devices (tenant_id, sort_key, id);
CREATE INDEX devices_site_sort ON devices (site_id, sort_key, id);
CREATE INDEX devices_search ON devices USING gin (search_text gin_trgm_ops);

CREATE INDEX alerts_device_started ON alerts (device_id, started_at DESC);
CREATE INDEX alerts_tenant_open ON alerts (tenant_id, started_at DESC) WHERE ended_at IS NULL;

-- An agent's link as the api sees it: connected since, disconnected since (with last_seen_at,
-- kept fresh by heartbeats, a replica that died without saying is not believed for long).
ALTER TABLE agents ADD COLUMN connected_at timestamptz, ADD COLUMN disconnected_at timestamptz;
