DROP TABLE cycle_reports;
