ALTER TABLE sites DROP COLUMN lead_time_days;
ALTER TABLE supplies DROP COLUMN level_at_install;
