DROP TABLE agent_commands;
ALTER TABLE agents DROP COLUMN usb_interval_minutes;
DROP TABLE discovery_ranges;
DROP TABLE snmp_credentials;
