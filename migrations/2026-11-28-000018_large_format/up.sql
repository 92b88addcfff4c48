-- How many pages a large-format page (A3, ledger: the `large_format` meter) counts for in a
-- plan: two by default, as managed-print contracts usually count them.
ALTER TABLE price_plans ADD COLUMN large_format_factor integer NOT NULL DEFAULT 2
    CHECK (large_format_factor BETWEEN 1 AND 4);
