DROP TABLE shipped_supplies;
DROP TABLE shipments;
DROP TABLE supply_models;
