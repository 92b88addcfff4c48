//! Synthetic fleets for benchmarks: devices in bulk, each with three days of three counters,
//! their latest values and four toner levels, made in a few SQL statements.

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Adds `n` devices (serials `SYN00000001`…) to `tenant_id`, read by `agent_id`.
pub async fn fleet(conn: &mut AsyncPgConnection, tenant_id: Uuid, agent_id: Uuid, n: i64) -> anyhow::Result<()> {
    diesel::sql_query(format!(
        "INSERT INTO devices (tenant_id, agent_id, address, serial, vendor, model, status, first_seen_at, last_seen_at) \
         SELECT '{tenant_id}', '{agent_id}', '172.16.' || (n / 250) % 250 || '.' || n % 250, 'SYN' || lpad(n::text, 8, '0'), \
            (ARRAY['HP','Kyocera','Brother','Canon','Konica Minolta','Xerox'])[1 + n % 6], 'Model ' || n % 97, \
            (ARRAY['ok','ok','ok','warning','error'])[1 + n % 5], now() - interval '30 days', now() \
         FROM generate_series(1, {n}) AS n"
    ))
    .execute(conn)
    .await?;
    diesel::sql_query(format!(
        "INSERT INTO counter_readings (device_id, tenant_id, read_at, kind, value, agent_id, sequence) \
         SELECT d.id, d.tenant_id, now() - (k * interval '1 day'), c.kind, 10000 + k * 100, '{agent_id}', 1 \
         FROM devices d CROSS JOIN (VALUES ('total'), ('mono'), ('color')) AS c(kind) CROSS JOIN generate_series(0, 2) AS k \
         WHERE d.serial LIKE 'SYN%'"
    ))
    .execute(conn)
    .await?;
    diesel::sql_query(
        "INSERT INTO latest_counters (device_id, tenant_id, kind, read_at, value, flag, agent_id, sequence) \
         SELECT DISTINCT ON (c.device_id, c.kind) c.device_id, c.tenant_id, c.kind, c.read_at, c.value, c.flag, c.agent_id, c.sequence \
         FROM counter_readings c JOIN devices d ON d.id = c.device_id WHERE d.serial LIKE 'SYN%' \
         ORDER BY c.device_id, c.kind, c.read_at DESC",
    )
    .execute(conn)
    .await?;
    diesel::sql_query(format!(
        "INSERT INTO supplies (device_id, tenant_id, supply_index, kind, color, percent, state, read_at, agent_id, sequence) \
         SELECT d.id, d.tenant_id, s.i, 'toner', s.color, (abs(hashtext(d.id::text || s.i)) % 100)::float, 'ok', now(), '{agent_id}', 1 \
         FROM devices d CROSS JOIN (VALUES (1, 'black'), (2, 'cyan'), (3, 'magenta'), (4, 'yellow')) AS s(i, color) \
         WHERE d.serial LIKE 'SYN%'"
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// October 2026's page counts of the first two synthetic devices, counted by the accounting
/// worker: `SYN00000001` prints 2,000 pages, 500 of them in colour; `SYN00000002` 800 in mono
/// (readings at UTC midnights: these devices have no site). Returns how many devices the
/// worker counted.
pub async fn october_pages(conn: &mut AsyncPgConnection, database_url: &str) -> anyhow::Result<usize> {
    diesel::sql_query(
        "INSERT INTO counter_readings (device_id, tenant_id, read_at, kind, value, agent_id, sequence) \
         SELECT d.id, d.tenant_id, r.at::timestamptz, r.kind, r.value, d.agent_id, 1 FROM devices d \
         JOIN (VALUES ('SYN00000001', '2026-10-01T00:00:00Z', 'total', 10000), ('SYN00000001', '2026-11-01T00:00:00Z', 'total', 12000), \
                      ('SYN00000001', '2026-10-01T00:00:00Z', 'color', 1000), ('SYN00000001', '2026-11-01T00:00:00Z', 'color', 1500), \
                      ('SYN00000002', '2026-10-01T00:00:00Z', 'total', 5000), ('SYN00000002', '2026-11-01T00:00:00Z', 'total', 5800)) \
           AS r(serial, at, kind, value) ON r.serial = d.serial",
    )
    .execute(conn)
    .await?;
    diesel::sql_query("INSERT INTO accounting_outbox (device_id, since) SELECT id, '2026-09-01' FROM devices")
        .execute(conn)
        .await?;
    cartouche_jobs::accounting::count_due(&cartouche_schema::db::pool(database_url, 2)?).await
}
