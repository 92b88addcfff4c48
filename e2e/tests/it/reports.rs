//! Reports end to end: asked for in GraphQL, made by the report worker from real page counts,
//! bills and repairs, downloaded over HTTP and read back — the CSV parsed, the workbook opened
//! with calamine, the PDF's text extracted with pdf-extract — and the figures checked by hand;
//! a schedule that is due makes its report; bad periods and other tenants are refused.

use calamine::{Data, Reader, Xlsx};
use cartouche_e2e::app::TestApp;
use cartouche_e2e::graphql::GraphqlClient;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

const REQUEST: &str = "mutation($i: ReportInput!) { requestReport(input: $i) { id status progress } }";

async fn download(app: &TestApp, client: &GraphqlClient, path: &str) -> (u16, Vec<u8>) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", app.base_url))
        .bearer_auth(client.bearer().unwrap())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_are_made_in_each_format_and_read_back_as_calculated_by_hand() {
    let app = TestApp::start().await.unwrap();
    let (tenant, admin, key) = app.tenant_with_enrollment_key("Acme & Co").await.unwrap();
    let (agent_id, _) = cartouche_e2e::agent_socket::enrolled(&app, &key, "pc").await.unwrap();
    let mut conn = app.db.conn().await.unwrap();
    cartouche_e2e::synthetic::fleet(&mut conn, tenant.id, agent_id.parse().unwrap(), 2).await.unwrap();
    // October: A prints 2,000 pages, 500 in colour; B 800 in mono.
    cartouche_e2e::synthetic::october_pages(&mut conn, app.db.url()).await.unwrap();
    let pool = cartouche_schema::db::pool(app.db.url(), 2).unwrap();
    admin
        .data(
            "mutation { createPricePlan(input: { name: \"Acme\", monoPrice: \"0.01\", colorPrice: \"0.08\", validFrom: \"2026-01-01\" }) { id } }",
            json!({}),
            "createPricePlan",
        )
        .await
        .unwrap();

    // Bad periods are refused at `to`; nothing is queued.
    for (from, to) in [("2026-11-01", "2026-10-01"), ("2020-01-01", "2026-01-01")] {
        let refused = admin.run(REQUEST, json!({ "i": { "from": from, "to": to, "format": "CSV" } })).await.unwrap();
        assert_eq!((refused.error_code(), refused.error_field()), (Some("VALIDATION"), Some("to")), "{from}..{to}");
    }
    let mut ids = Vec::new();
    for format in ["CSV", "XLSX", "PDF"] {
        let report = admin
            .data(
                REQUEST,
                json!({ "i": { "from": "2026-10-01", "to": "2026-11-01", "format": format } }),
                "requestReport",
            )
            .await
            .unwrap();
        assert_eq!((&report["status"], &report["progress"]), (&json!("QUEUED"), &json!(0)));
        ids.push(report["id"].as_str().unwrap().to_owned());
    }
    let catalogue = cartouche_schema::profiles::ProfileSet::builtin().unwrap().catalogue;
    assert_eq!(cartouche_jobs::reports::make_due(&pool, &catalogue).await.unwrap(), 3);
    assert_eq!(cartouche_jobs::reports::make_due(&pool, &catalogue).await.unwrap(), 0, "each made once");

    let mut files = Vec::new();
    for id in &ids {
        let report = admin
            .data(
                "query($id: ID!) { report(id: $id) { status progress fileName size downloadPath error } }",
                json!({ "id": id }),
                "report",
            )
            .await
            .unwrap();
        assert_eq!(
            (&report["status"], &report["progress"], &report["error"]),
            (&json!("DONE"), &json!(100), &Value::Null)
        );
        assert!(report["fileName"].as_str().unwrap().starts_with("fleet-report-acme-co-2026-10-01-2026-11-01."));
        let (status, bytes) = download(&app, &admin, report["downloadPath"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(Some(bytes.len() as i64), report["size"].as_i64());
        files.push(bytes);
    }

    // By hand: A 1,500 mono and 500 colour pages, B 800 mono; billed 15.00 + 40.00 + 8.00 = 63.00.
    let csv = String::from_utf8(files[0].clone()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    let devices = lines.iter().position(|l| *l == "Pages per device").unwrap();
    assert_eq!(lines[devices + 1], "Site,Model,Serial,Mono,Colour,Large format,Held for review");
    assert!(lines.iter().any(|l| l.ends_with("SYN00000001,1500,500,0,0")), "{csv}");
    assert!(lines.iter().any(|l| l.ends_with("SYN00000002,800,0,0,0")), "{csv}");
    let costs = lines.iter().position(|l| *l == "Costs per month").unwrap();
    assert_eq!(lines[costs + 2], "2026-10,63.00,0.00,0.00,63.00");

    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(files[1].clone())).unwrap();
    let sheet = workbook.worksheet_range("Pages per device").unwrap();
    let row = sheet.rows().find(|r| r.get(2) == Some(&Data::String("SYN00000001".into()))).unwrap().to_vec();
    assert_eq!((&row[3], &row[4]), (&Data::Float(1500.0), &Data::Float(500.0)));
    let costs = workbook.worksheet_range("Costs per month").unwrap();
    let october = costs.rows().find(|r| r.iter().next() == Some(&Data::String("2026-10".into()))).unwrap().to_vec();
    assert_eq!(october[1], Data::Float(63.0));
    assert_eq!(
        workbook.sheet_names(),
        ["Pages per site", "Pages per device", "Costs per month", "Supplies", "Faults", "Repairs"]
    );

    assert!(files[2].starts_with(b"%PDF-1.4"));
    let text = pdf_extract::extract_text_from_mem(&files[2]).unwrap();
    for expected in ["Fleet report", "Acme & Co", "Pages per device", "SYN00000001", "1500", "Costs per month", "63.00"]
    {
        assert!(text.contains(expected), "{expected:?} not in the PDF's text:\n{text}");
    }

    // Another tenant can neither read nor download it.
    let (_, stranger, _) = app.tenant_with_enrollment_key("Other").await.unwrap();
    let response = stranger.run("query($id: ID!) { report(id: $id) { id } }", json!({ "id": ids[0] })).await.unwrap();
    assert_eq!(response.error_code(), Some("NOT_FOUND"));
    assert_eq!(download(&app, &stranger, &format!("/reports/{}/file", ids[0])).await.0, 404);
    assert_eq!(download(&app, &stranger, "/reports/not-an-id/file").await.0, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_due_schedule_makes_the_previous_months_report() {
    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let schedule = admin
        .data(
            "mutation { createReportSchedule(input: { format: PDF, cadence: MONTHLY }) { id nextRunOn cadence } }",
            json!({}),
            "createReportSchedule",
        )
        .await
        .unwrap();
    let today = chrono::Utc::now().date_naive();
    let first_next = chrono::NaiveDate::parse_from_str(schedule["nextRunOn"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    assert!(first_next > today && chrono::Datelike::day(&first_next) == 1, "the 1st of next month: {first_next}");
    // Make it due today.
    let mut conn = app.db.conn().await.unwrap();
    diesel::sql_query("UPDATE report_schedules SET next_run_on = current_date").execute(&mut conn).await.unwrap();
    let pool = cartouche_schema::db::pool(app.db.url(), 2).unwrap();
    let catalogue = cartouche_schema::profiles::ProfileSet::builtin().unwrap().catalogue;
    assert_eq!(cartouche_jobs::reports::make_due(&pool, &catalogue).await.unwrap(), 1);
    assert_eq!(cartouche_jobs::reports::make_due(&pool, &catalogue).await.unwrap(), 0, "moved to its next day");
    let reports = admin.data("{ reports { status from to format } }", json!({}), "reports").await.unwrap();
    let this_month =
        chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&today), chrono::Datelike::month(&today), 1).unwrap();
    let previous = this_month.checked_sub_months(chrono::Months::new(1)).unwrap();
    assert_eq!(
        reports,
        json!([{ "status": "DONE", "from": previous.to_string(), "to": this_month.to_string(), "format": "PDF" }])
    );
    let schedules = admin.data("{ reportSchedules { nextRunOn } }", json!({}), "reportSchedules").await.unwrap();
    assert_eq!(schedules[0]["nextRunOn"], json!(first_next.to_string()));
}
