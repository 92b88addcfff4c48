-- What a cartridge of a model costs the dealer (millionths of the currency), for the cost
-- per page and the margin of a contract.
ALTER TABLE supply_models ADD COLUMN unit_cost bigint CHECK (unit_cost >= 0);
