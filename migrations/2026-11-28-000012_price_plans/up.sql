-- Price plans: what a customer (tenant) pays per page, for all its devices, one site's, or one
-- device's (the most specific plan in force applies), with included volumes (pooled across
-- the plan's devices or per device) and a minimum charge per billing month. Money in
-- millionths of the currency unit (`schema::billing`); plans of one scope never overlap in
-- time (checked by the api under a lock on the tenant).
CREATE TABLE price_plans (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id         uuid REFERENCES sites (id) ON DELETE CASCADE,
    device_id       uuid REFERENCES devices (id) ON DELETE CASCADE,
    name            text NOT NULL,
    currency        text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    mono_price      bigint NOT NULL CHECK (mono_price >= 0),
    color_price     bigint NOT NULL CHECK (color_price >= 0),
    included_mono   bigint NOT NULL DEFAULT 0 CHECK (included_mono >= 0),
    included_color  bigint NOT NULL DEFAULT 0 CHECK (included_color >= 0),
    pooled          boolean NOT NULL DEFAULT true,
    minimum_charge  bigint NOT NULL DEFAULT 0 CHECK (minimum_charge >= 0),
    valid_from      date NOT NULL,
    valid_to        date,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    CHECK (site_id IS NULL OR device_id IS NULL)
);
CREATE INDEX price_plans_tenant ON price_plans (tenant_id, valid_from);
