DROP INDEX alerts_untriaged;
ALTER TABLE alerts DROP COLUMN triaged;
DROP TABLE work_order_events;
DROP TABLE work_orders;
DROP TABLE work_order_rules;
DROP TABLE labour_rates;
