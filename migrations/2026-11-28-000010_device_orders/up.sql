-- The device list's other orders, each walked in its index at any fleet size: longest unseen
-- first, and worst status first (the CASE is `schema::db::devices::status_rank_sql`, word for
-- word: the planner matches the two).
CREATE INDEX devices_tenant_seen ON devices (tenant_id, last_seen_at, id);
CREATE INDEX devices_tenant_status ON devices (tenant_id,
    (CASE status WHEN 'error' THEN 0 WHEN 'offline' THEN 1 WHEN 'warning' THEN 2 WHEN 'asleep' THEN 3 WHEN 'unknown' THEN 4 WHEN 'ok' THEN 5 ELSE 4 END),
    sort_key, id);
