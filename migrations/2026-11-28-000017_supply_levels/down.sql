DROP TABLE supply_levels;
