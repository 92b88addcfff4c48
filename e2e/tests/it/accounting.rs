//! Page accounting through the whole chain: readings uploaded by an agent (a Counter32 that
//! wraps, a board swap that resets it, an implausible jump), the outbox the ingestion writes,
//! the accounting worker's recount, and the pages read back per day, month and hour, as
//! meter reads, and as the CSV an ERP imports — checked against a hand count.

use cartouche_e2e::agent_socket;
use cartouche_e2e::app::TestApp;
use cartouche_e2e::{recording, with_varbind};
use cartouche_schema::wire::{Cycle, RawReading};
use serde_json::{Value, json};

const LIFE: &str = "1.3.6.1.2.1.43.10.2.1.4.1.1";

#[tokio::test(flavor = "multi_thread")]
async fn a_month_of_pages_survives_a_wrap_a_reset_and_a_jump_and_exports_as_csv() {
    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (_, key) = TestApp::site_with_enrollment_key(&admin, "Lyon").await.unwrap();
    let (mut socket, agent) = agent_socket::linked(&app, &key, "pc-lyon").await.unwrap();

    // One reading at local midnight (Europe/Paris, UTC+2 in October) of each day.
    let base = recording("librenms/brother_hl5370dw.snmprec");
    let values: [i64; 6] = [4_294_966_900, 4_294_967_200, 100, 40, 90, 10_000_090];
    for (day, value) in values.iter().enumerate() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-09-30T22:00:00Z").unwrap().to_utc()
            + chrono::Duration::days(day as i64);
        let walk = with_varbind(&base, LIFE, 65, &value.to_string());
        let reading = RawReading::snmp("10.9.0.12", Cycle::Discovery, at, walk);
        assert_eq!(agent_socket::deliver(&app, &mut socket, agent, day as u64 + 1, vec![reading]).await, None);
    }

    // The readings left their recount due; the worker's run counts it, then nothing is due.
    let pool = cartouche_schema::db::pool(app.db.url(), 2).unwrap();
    let mut conn = pool.get().await.unwrap();
    assert_eq!(cartouche_schema::db::accounting::due(&mut conn).await.unwrap(), 1);
    assert_eq!(cartouche_jobs::accounting::count_due(&pool).await.unwrap(), 1);
    assert_eq!(cartouche_schema::db::accounting::due(&mut conn).await.unwrap(), 0);
    assert_eq!(cartouche_jobs::accounting::count_due(&pool).await.unwrap(), 0, "idempotent: nothing left");

    let counts = |granularity: &'static str, from: &'static str, to: &'static str| {
        let admin = &admin;
        async move {
            let devices = admin
                .data(
                    "query($g: PageGranularity!, $from: NaiveDate!, $to: NaiveDate!) { devices(first: 1) { nodes {
                        pageCounts(from: $from, to: $to, granularity: $g, kind: \"total\") { day pages heldPages reasons evidence } } } }",
                    json!({ "g": granularity, "from": from, "to": to }),
                    "devices",
                )
                .await
                .unwrap();
            devices["nodes"][0]["pageCounts"].as_array().unwrap().clone()
        }
    };
    // By hand: +300; the wrap 4,294,967,296 - 4,294,967,200 + 100 = 196; the reset to 40
    // (the next reading, 90, stays below the 100 before it); +50; then a jump of 10,000,000
    // pages in a day, held for review with its two readings.
    let days = counts("DAY", "2026-10-01", "2026-11-01").await;
    let brief: Vec<(String, i64, i64, Value)> = days
        .iter()
        .map(|d| {
            (
                d["day"].as_str().unwrap().to_owned(),
                d["pages"].as_i64().unwrap(),
                d["heldPages"].as_i64().unwrap(),
                d["reasons"].clone(),
            )
        })
        .collect();
    assert_eq!(
        brief,
        vec![
            ("2026-10-01".into(), 300, 0, json!([])),
            ("2026-10-02".into(), 196, 0, json!(["wrap"])),
            ("2026-10-03".into(), 40, 0, json!(["reset"])),
            ("2026-10-04".into(), 50, 0, json!([])),
            ("2026-10-05".into(), 0, 10_000_000, json!(["implausible_jump"])),
        ]
    );
    assert_eq!(
        days[4]["evidence"],
        json!([["2026-10-04T22:00:00+00:00", 90], ["2026-10-05T22:00:00+00:00", 10_000_090]])
    );
    let month = counts("MONTH", "2026-10-01", "2026-11-01").await;
    assert_eq!((month.len(), &month[0]["pages"], &month[0]["heldPages"]), (1, &json!(586), &json!(10_000_000)));
    // Hours are counted from the readings when asked: the wrap day's 196 pages over its hours.
    let hours = counts("HOUR", "2026-10-02", "2026-10-03").await;
    assert_eq!(hours.len(), 24);
    assert_eq!(hours.iter().map(|h| h["pages"].as_i64().unwrap()).sum::<i64>(), 196);

    // The billing period's meter reads, in GraphQL and as CSV.
    let reads = admin
        .data(
            "{ meterReads(from: \"2026-10-01\", to: \"2026-11-01\") { nodes { meter startValue endValue pages heldPages notes } } }",
            json!({}),
            "meterReads",
        )
        .await
        .unwrap();
    let total = reads["nodes"].as_array().unwrap().iter().find(|r| r["meter"] == "total").unwrap().clone();
    assert_eq!(
        total,
        json!({ "meter": "total", "startValue": 4_294_966_900i64, "endValue": 10_000_090, "pages": 586,
            "heldPages": 10_000_000, "notes": ["implausible_jump", "reset", "wrap"] })
    );
    let http = reqwest::Client::new();
    let url = format!("{}/export/meter-reads.csv?from=2026-10-01&to=2026-11-01", app.base_url);
    let csv = http.get(&url).bearer_auth(admin.bearer().unwrap()).send().await.unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-disposition"].to_str().unwrap().contains("meter-reads-2026-10-01-2026-11-01.csv"));
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let col = |row: &Vec<&str>, name: &str| row[header.iter().position(|h| *h == name).unwrap()].to_owned();
    let total = rows.iter().find(|r| col(r, "meter") == "total").expect("the total meter is exported");
    assert_eq!(
        ["start_value", "end_value", "pages", "held_pages", "notes", "period_start", "period_end"]
            .map(|c| col(total, c)),
        ["4294966900", "10000090", "586", "10000000", "implausible_jump;reset;wrap", "2026-10-01", "2026-11-01"]
    );
    assert_eq!(rows.len(), reads["nodes"].as_array().unwrap().len(), "the CSV has the rows GraphQL has");

    // Bad input, named; no token, refused; another tenant sees nothing.
    let bad = admin
        .run("{ meterReads(from: \"2026-11-01\", to: \"2026-10-01\") { nodes { pages } } }", json!({}))
        .await
        .unwrap();
    assert_eq!((bad.error_code(), bad.error_field()), (Some("VALIDATION"), Some("to")));
    let reversed = http
        .get(format!("{}/export/meter-reads.csv?from=2026-11-01&to=2026-10-01", app.base_url))
        .bearer_auth(admin.bearer().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(reversed.status(), 400);
    assert!(reversed.text().await.unwrap().starts_with("to: the period ends"));
    let garbled = http
        .get(format!("{}/export/meter-reads.csv?from=October&to=2026-10-01", app.base_url))
        .bearer_auth(admin.bearer().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(garbled.status(), 400);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    let other = app.tenant("Other", None).await.unwrap();
    app.user(other.id, "eve@other.test", cartouche_schema::domain::Role::Admin, "correct horse battery").await.unwrap();
    let eve = app.signed_in("eve@other.test", "correct horse battery").await.unwrap();
    let theirs = http.get(&url).bearer_auth(eve.bearer().unwrap()).send().await.unwrap().text().await.unwrap();
    assert_eq!(theirs.lines().count(), 1, "only the header for another tenant");
}
