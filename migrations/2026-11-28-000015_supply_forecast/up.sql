-- For the days-to-empty forecast: a supply's level when its cartridge went in (or was first
-- seen), to measure its own fall against the pages printed since; and each site's lead time,
-- from order to delivery, to turn an empty date into an order-by date.
ALTER TABLE supplies ADD COLUMN level_at_install double precision;
ALTER TABLE sites ADD COLUMN lead_time_days integer NOT NULL DEFAULT 5 CHECK (lead_time_days BETWEEN 0 AND 120);
