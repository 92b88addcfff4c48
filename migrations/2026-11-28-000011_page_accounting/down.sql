DROP TABLE accounting_outbox;
DROP TABLE page_counts;
