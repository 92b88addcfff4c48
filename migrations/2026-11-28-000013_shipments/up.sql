-- Supplies from shipment onward. A tenant's catalogue of supply models (part numbers with
-- their rated yield); shipments of a model to a site, each cartridge by its serial; the
-- cartridges are matched to the devices they were installed in by that serial (the counters
-- cycle reads it), at query time, so a late reading or a reinterpretation is followed.
CREATE TABLE supply_models (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    part_number  text NOT NULL,
    name         text NOT NULL,
    kind         text NOT NULL,
    color        text,
    -- Pages at 5 % coverage, as the maker rates it (ISO/IEC 19752, 19798).
    rated_yield  integer CHECK (rated_yield > 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX supply_models_part ON supply_models (tenant_id, lower(part_number));

CREATE TABLE shipments (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id         uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    supply_model_id uuid NOT NULL REFERENCES supply_models (id) ON DELETE RESTRICT,
    quantity        integer NOT NULL CHECK (quantity > 0),
    shipped_on      date NOT NULL,
    delivered_on    date CHECK (delivered_on IS NULL OR delivered_on >= shipped_on),
    reference       text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shipments_tenant ON shipments (tenant_id, shipped_on DESC);

CREATE TABLE shipped_supplies (
    shipment_id uuid NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    serial      text NOT NULL,
    PRIMARY KEY (shipment_id, serial)
);
-- A serial is shipped once per tenant.
CREATE UNIQUE INDEX shipped_supplies_serial ON shipped_supplies (tenant_id, serial);
