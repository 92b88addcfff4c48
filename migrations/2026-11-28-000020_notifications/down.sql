DROP INDEX work_order_events_unnotified;
ALTER TABLE work_order_events DROP COLUMN notified;
DROP INDEX alerts_unnotified;
ALTER TABLE alerts DROP COLUMN notified;
DROP TABLE deliveries;
DROP TABLE notifications;
DROP TABLE notification_preferences;
DROP TABLE webhooks;
