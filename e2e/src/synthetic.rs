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
