ALTER TABLE price_plans DROP COLUMN large_format_factor;
