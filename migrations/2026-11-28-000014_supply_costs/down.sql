ALTER TABLE supply_models DROP COLUMN unit_cost;
