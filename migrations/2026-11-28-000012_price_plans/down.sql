DROP TABLE price_plans;
