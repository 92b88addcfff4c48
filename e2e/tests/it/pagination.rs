use cartouche_e2e::app::TestApp;
use cartouche_schema::domain::Role;
use serde_json::json;

const PAGE: &str = "query($first: Int, $after: String) { sites(first: $first, after: $after) { \
    edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }";

#[tokio::test(flavor = "multi_thread")]
async fn sites_page_by_name_with_cursors() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let tenant = app.tenant("Acme", None).await?;
    app.user(tenant.id, "admin@acme.test", Role::Admin, "correct horse battery").await?;
    let admin = app.signed_in("admin@acme.test", "correct horse battery").await?;
    let names = ["delta", "Alpha", "charlie", "Echo", "bravo", "golf", "foxtrot"];
    for name in names {
        admin
            .data(
                "mutation($n: String!) { createSite(input: { name: $n, timeZone: \"UTC\" }) { id } }",
                json!({ "n": name }),
                "createSite",
            )
            .await?;
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = admin.data(PAGE, json!({ "first": 3, "after": after }), "sites").await?;
        pages += 1;
        for edge in page["edges"].as_array().unwrap() {
            seen.push(edge["node"]["name"].as_str().unwrap().to_owned());
        }
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["Alpha", "bravo", "charlie", "delta", "Echo", "foxtrot", "golf"]);

    let bad = admin.run(PAGE, json!({ "first": 3, "after": "not-a-cursor" })).await?;
    assert_eq!(bad.error_code(), Some("VALIDATION"));
    assert_eq!(bad.error_field(), Some("after"));
    let too_many = admin.run(PAGE, json!({ "first": 201 })).await?;
    assert_eq!(too_many.error_field(), Some("first"));
    Ok(())
}

/// The device list in each order, walked page by page, gives every device once in exactly the
/// order the rule says (computed here from the rows); a cursor of one order is refused by
/// another.
#[tokio::test(flavor = "multi_thread")]
async fn devices_page_in_every_order() -> anyhow::Result<()> {
    use cartouche_schema::db::schema::devices;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;

    let app = TestApp::start().await?;
    let (tenant, admin, key) = app.tenant_with_enrollment_key("Acme").await?;
    let (agent_id, _) = cartouche_e2e::agent_socket::enrolled(&app, &key, "pc").await?;
    let mut conn = app.db.conn().await?;
    cartouche_e2e::synthetic::fleet(&mut conn, tenant.id, agent_id.parse()?, 23).await?;
    // Statuses of every kind, and last-seen times with ties (ties are broken by id).
    diesel::sql_query(
        "UPDATE devices SET status = (ARRAY['ok','warning','error','offline','asleep','unknown'])[1 + n % 6], \
         last_seen_at = now() - ((n % 7) * interval '1 hour') \
         FROM (SELECT id, row_number() OVER (ORDER BY serial) AS n FROM devices) AS r WHERE r.id = devices.id",
    )
    .execute(&mut conn)
    .await?;
    // In name order as the database's collation has it; the other orders are derived here.
    let rows: Vec<(uuid::Uuid, Option<String>, String, chrono::DateTime<chrono::Utc>)> = devices::table
        .select((devices::id, devices::sort_key, devices::status, devices::last_seen_at))
        .order_by((devices::sort_key, devices::id))
        .load(&mut conn)
        .await?;
    let rank = |s: &str| cartouche_schema::db::devices::status_rank(s);
    let expected = |order: &str| {
        let mut sorted = rows.clone();
        match order {
            "NAME" => {}
            "LAST_SEEN" => sorted.sort_by_key(|a| (a.3, a.0)),
            // Stable: the name order stays within a rank.
            _ => sorted.sort_by_key(|r| rank(&r.2)),
        }
        sorted.into_iter().map(|r| r.0.to_string()).collect::<Vec<_>>()
    };
    const LIST: &str = "query($order: DeviceOrderBy!, $after: String) { devices(orderBy: $order, first: 4, after: $after) { \
        nodes { id } pageInfo { hasNextPage endCursor } } }";
    let mut cursors = std::collections::HashMap::new();
    for order in ["NAME", "LAST_SEEN", "STATUS"] {
        let (mut seen, mut after) = (Vec::new(), None::<String>);
        loop {
            let page = admin.data(LIST, json!({ "order": order, "after": after }), "devices").await?;
            seen.extend(page["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()));
            after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
            cursors.insert(order, after.clone());
            if page["pageInfo"]["hasNextPage"] == false {
                break;
            }
        }
        assert_eq!(seen, expected(order), "{order}");
    }
    for (order, other) in [("NAME", "STATUS"), ("STATUS", "LAST_SEEN"), ("LAST_SEEN", "NAME")] {
        let answer = admin.run(LIST, json!({ "order": order, "after": cursors[other] })).await?;
        assert_eq!((answer.error_code(), answer.error_field()), (Some("VALIDATION"), Some("after")), "{order}");
    }
    Ok(())
}
