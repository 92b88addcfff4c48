//! The console through the whole stack: a person enrolls an agent from its page, the real agent
//! (as `cartouche-agent run` runs it) links up, a range typed on the ranges page sends it
//! sweeping the printer simulator, the printers appear in the open device list, a supply read
//! lower shows on the open device page, and the language switches; range files are checked
//! line by line; the schedule grid works from the keyboard.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use cartouche_e2e::app::TestApp;
use cartouche_e2e::browser::Browser;
use cartouche_e2e::running_agent::RunningAgent;
use cartouche_e2e::simulator::{Device, Simulator};
use cartouche_schema::profiles::Walk;
use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::json;

use crate::browser::{console_app, device_rows, row_named, sign_in};

const PORT: u16 = 16_165;
const PRINTERS: [&str; 3] =
    ["librenms/konica_c250i.snmprec", "librenms/brother_hl5370dw.snmprec", "librenms/dell-laser.snmprec"];
const DRUM_LEVEL: &str = "1.3.6.1.2.1.43.11.1.1.9.1.3";

/// Types into a field after clearing it.
pub(crate) async fn retype(browser: &Browser, css: &str, text: &str) -> anyhow::Result<()> {
    let field = browser.wait_for(css).await?;
    field.clear().await?;
    field.send_keys(text).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn from_enrollment_to_a_live_supply_level_all_from_the_console() -> anyhow::Result<()> {
    // Three printers among twenty addresses of a loopback block.
    let block = (std::process::id() % 250) as u8;
    let address = move |i: u8| Ipv4Addr::new(127, 96, block, 1 + i);
    let devices = PRINTERS
        .iter()
        .zip([0u8, 7, 14])
        .map(|(file, i)| {
            let walk = Walk::from_snmprec(&cartouche_e2e::recording(file)).unwrap();
            (SocketAddr::from((address(i), PORT)), Device::new(walk, "public"))
        })
        .collect();
    let simulator = Simulator::start(devices).await?;

    let app = console_app().await?;
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await?;
    TestApp::site_with_enrollment_key(&admin, "Lyon").await?;

    let browser = Browser::start().await?;
    browser.client.goto(&format!("{}/agents", app.base_url)).await?;
    sign_in(&browser, "admin@acme.test").await?;

    // Enroll from the page: a key valid for no time at all is refused next to its field; the
    // command shown carries the key in the environment (not on the command line).
    browser.wait_for("form.enroll input[name=name]").await?.send_keys("Lyon PC").await?;
    retype(&browser, "form.enroll input[name=expiresInHours]", "0").await?;
    browser.wait_for("form.enroll button[type=submit]").await?.click().await?;
    browser.wait_for(".field.invalid #field-expiresInHours-error").await?;
    retype(&browser, "form.enroll input[name=expiresInHours]", "24").await?;
    browser.wait_for("select[name=siteId]").await?.select_by_label("Lyon").await?;
    browser.wait_for("form.enroll button[type=submit]").await?.click().await?;
    let command = browser.wait_for("code.command").await?.text().await?;
    assert!(command.ends_with(&format!("cartouche-agent enroll --server {}", app.base_url)), "{command}");
    let secret = command
        .split_once("CARTOUCHE_ENROLLMENT_KEY='")
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(secret, _)| secret.to_owned())
        .expect("the command carries the key");

    // The real agent enrolls with it and runs.
    let agent = RunningAgent::start(&app.base_url, &secret, "pc-lyon", PORT).await?;
    // It shows up, live, on the key's site.
    browser.wait_for("tr.agent[data-name='pc-lyon']").await?;
    browser.wait_for_text("Connected").await?;
    assert!(row_named(&browser, "agent", "pc-lyon").await?.contains("Lyon"));
    browser.screenshot("agents").await?;

    // Its controls: run now, local printers (a bad interval refused next to its field).
    browser.client.find(Locator::Css("tr.agent[data-name='pc-lyon'] button.details")).await?.click().await?;
    browser.wait_for("tr.agent-detail .agent-controls").await?;
    // Enrolled agents read local printers every 30 minutes until told otherwise.
    let checkbox = browser.wait_for("tr.agent-detail input[type=checkbox]").await?;
    assert!(!checkbox.is_selected().await?);
    retype(&browser, "tr.agent-detail input[name=usbIntervalMinutes]", "2").await?;
    browser.client.find(Locator::Css("form.local-printers button[type=submit]")).await?.click().await?;
    let error = browser.wait_for(".field.invalid #field-usbIntervalMinutes-error").await?.text().await?;
    assert!(error.contains("5 to 1440"), "{error}");
    retype(&browser, "tr.agent-detail input[name=usbIntervalMinutes]", "15").await?;
    browser.client.find(Locator::Css("form.local-printers button[type=submit]")).await?.click().await?;
    browser.wait_for_text("Saved.").await?;
    browser.screenshot("agent-controls").await?;

    // A range typed on the ranges page: a block too large is flagged as typed and refused by
    // the server next to its field; then the real block, discovery every hour (due at once).
    browser.client.find(Locator::LinkText("Discovery ranges")).await?.click().await?;
    browser.wait_for(".toolbar button.primary").await?.click().await?;
    browser.wait_for("form.range-form input[name=name]").await?.send_keys("Lyon floor 1").await?;
    browser.wait_for("#range-site").await?.select_by_label("Lyon").await?;
    retype(&browser, "#field-ranges", "10.0.0.0/8").await?;
    browser.wait_for_text("at most 65536").await?;
    browser.client.find(Locator::Css("form.range-form button[type=submit]")).await?.click().await?;
    browser.wait_for(".field.invalid #field-ranges[aria-invalid=true]").await?;
    retype(&browser, "#field-ranges", &format!("{}-{}", address(0), address(19))).await?;
    browser.wait_for_text("20 addresses covered").await?;
    browser.client.find(Locator::Css("#schedule-discovery-weekly")).await?.click().await?;
    browser
        .client
        .find(Locator::XPath("//fieldset[@id='schedule-discovery']//button[contains(., 'every hour')]"))
        .await?
        .click()
        .await?;
    browser.wait_for_text("168 runs a week").await?;
    browser.screenshot("range-form").await?;
    browser.client.find(Locator::Css("form.range-form button[type=submit]")).await?.click().await?;
    let row = row_named(&browser, "range", "Lyon floor 1").await?;
    assert!(row.contains("(20)") && row.contains("168 runs a week"), "{row}");
    browser.screenshot("ranges").await?;

    // The agent sweeps; the printers appear in the open device list without a reload.
    browser.client.find(Locator::LinkText("Devices")).await?.click().await?;
    browser.wait_for("form.filters").await?;
    browser.until("the swept printers", 60, async || Ok(browser.count("tr.device").await? >= 3)).await?;
    device_rows(&browser, 3).await?;
    browser.screenshot("devices-discovered").await?;

    // The Brother's page; its drum is read lower after a counters cycle run now: live.
    browser
        .client
        .find(Locator::XPath("//tr[contains(@class, 'device')]//a[contains(., 'Brother')]"))
        .await?
        .click()
        .await?;
    browser.wait_for(".device-page").await?;
    browser.wait_for_text("69 %").await?;
    {
        let brother = simulator.device(1);
        let mut brother = brother.lock().await;
        let oid: cartouche_schema::profiles::Oid = DRUM_LEVEL.parse()?;
        *brother.walk.get_mut(&oid).expect("the drum's level") = cartouche_schema::profiles::Value::Integer(5000);
    }
    admin
        .data(
            "mutation($id: ID!) { runCycle(agentId: $id, cycle: COUNTERS) { id } }",
            json!({ "id": agent.enrollment.agent_id }),
            "runCycle",
        )
        .await?;
    browser.wait_for_text("20 %").await?;
    browser.screenshot("device-live-supply").await?;

    // For technicians: another period of the chart, and the raw reading behind the drum's
    // level, filtered to the supply levels.
    browser.wait_for("#chart-period").await?.select_by_value("7").await?;
    browser.wait_for(".counter-chart").await?;
    browser.client.find(Locator::Css("button.show-raw")).await?.click().await?;
    browser.wait_for("details.raw-reading").await?.click().await?;
    retype(&browser, "#raw-filter", "43.11.1.1.9.1").await?;
    browser.wait_for_text("1.3.6.1.2.1.43.11.1.1.9.1.3|2|5000").await?;
    browser.screenshot("device-raw-readings").await?;

    // On a tablet, the device page and the list fit the screen's width.
    assert!(browser.fits_width(768, 1024).await?, "the device page is wider than a tablet");
    browser.screenshot("tablet-device").await?;
    browser.client.find(Locator::LinkText("Devices")).await?.click().await?;
    device_rows(&browser, 3).await?;
    assert!(browser.fits_width(768, 1024).await?, "the device list is wider than a tablet");
    browser.screenshot("tablet-devices").await?;

    browser.client.find(Locator::Css("button.lang-fr")).await?.click().await?;
    browser.wait_for_text("Sans nouvelles depuis le plus longtemps").await?;
    browser.screenshot("devices-fr").await?;
    browser.close().await?;
    agent.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_range_file_shows_its_bad_lines_and_the_grid_answers_the_keyboard() -> anyhow::Result<()> {
    let app = console_app().await?;
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await?;
    TestApp::site_with_enrollment_key(&admin, "Lyon").await?;
    TestApp::site_with_enrollment_key(&admin, "Paris").await?;

    let browser = Browser::start().await?;
    browser.client.goto(&format!("{}/ranges", app.base_url)).await?;
    sign_in(&browser, "admin@acme.test").await?;
    browser.wait_for_text("No discovery ranges yet").await?;
    // From the keyboard, the first stop skips the navigation to the page's content.
    browser.client.find(Locator::Css("body")).await?.send_keys(&char::from(Key::Tab).to_string()).await?;
    let first = browser.client.active_element().await?;
    assert_eq!(first.text().await?, "Skip to the content");
    first.send_keys(&char::from(Key::Enter).to_string()).await?;
    assert_eq!(browser.client.active_element().await?.attr("id").await?.as_deref(), Some("main"));
    browser
        .client
        .find(Locator::XPath("//div[@class='toolbar']/button[contains(., 'Import a file')]"))
        .await?
        .click()
        .await?;

    // A syntax mistake is shown as typed, with its line; the site names only the server knows.
    retype(&browser, "#import-text", "range,site,name\n10.1.0.0/24,Lyon,Floor 1\n10.1.1.0/33,Paris\n").await?;
    browser.screenshot("ranges-import-typed").await?;
    let bad = browser.wait_for("tr.line-error").await?;
    assert_eq!(bad.attr("data-line").await?.as_deref(), Some("3"));
    retype(
        &browser,
        "#import-text",
        "range,site,name\n10.1.0.0/24,Lyon,Floor 1\n10.1.1.0/30,Nice\n10.2.0.1-20,paris,Copiers\n",
    )
    .await?;
    browser.wait_for_text("ranges read").await?;
    browser
        .client
        .find(Locator::XPath("//form[contains(@class, 'range-import')]//button[.='Check']"))
        .await?
        .click()
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    browser.screenshot("ranges-import-checked").await?;
    let bad = browser.wait_for("tr.line-error").await?;
    assert_eq!(bad.attr("data-line").await?.as_deref(), Some("3"));
    assert!(bad.text().await?.contains("no site named \"Nice\""));
    browser.screenshot("ranges-import-errors").await?;
    let none = admin.data("{ discoveryRanges { edges { node { id } } } }", json!({}), "discoveryRanges").await?;
    assert_eq!(none["edges"], json!([]), "a check creates nothing");

    retype(
        &browser,
        "#import-text",
        "range,site,name\n10.1.0.0/24,Lyon,Floor 1\n10.1.1.0/30,Lyon\n10.2.0.1-20,paris,Copiers\n",
    )
    .await?;
    browser.client.find(Locator::Css("form.range-import button[type=submit]")).await?.click().await?;
    assert!(row_named(&browser, "range", "Copiers").await?.contains("Paris"));
    row_named(&browser, "range", "Floor 1").await?;
    row_named(&browser, "range", "10.1.1.0/30").await?;

    // Edit a range from the keyboard: the grid is one tab stop, arrows move, Space switches.
    browser
        .client
        .find(Locator::Css("tr.range[data-name='Copiers'] td.actions button:not(.danger)"))
        .await?
        .click()
        .await?;
    browser.wait_for("form.range-form").await?;
    // Alerts default to 7:00-18:00 on weekdays: Monday 8:00 is on, 9:00 too.
    let start = browser.wait_for("#schedule-alerts button.slot[tabindex='0']").await?;
    assert_eq!(start.attr("aria-label").await?.as_deref(), Some("Mon 08:00"));
    assert_eq!(start.attr("aria-pressed").await?.as_deref(), Some("true"));
    start.send_keys(&format!("{}{}", char::from(Key::Right), char::from(Key::Down))).await?;
    let focused = browser.client.active_element().await?;
    assert_eq!(focused.attr("aria-label").await?.as_deref(), Some("Tue 09:00"));
    focused.send_keys(" ").await?;
    let switched = browser.wait_for("#schedule-alerts button.slot[aria-label='Tue 09:00']").await?;
    assert_eq!(switched.attr("aria-pressed").await?.as_deref(), Some("false"));
    browser.screenshot("range-grid-keyboard").await?;
    browser.client.find(Locator::Css("form.range-form button[type=submit]")).await?.click().await?;
    // Saved when the form closes.
    browser.until("the form closed", 15, async || Ok(browser.count("form.range-form").await? == 0)).await?;
    let saved = admin
        .data(
            "{ discoveryRanges { edges { node { name schedules { cycle days { weekday hours } } } } } }",
            json!({}),
            "discoveryRanges",
        )
        .await?;
    let copiers = saved["edges"].as_array().unwrap().iter().find(|e| e["node"]["name"] == "Copiers").unwrap();
    let alerts = copiers["node"]["schedules"].as_array().unwrap().iter().find(|s| s["cycle"] == "ALERTS").unwrap();
    let tuesday = alerts["days"].as_array().unwrap().iter().find(|d| d["weekday"] == "TUE").unwrap();
    assert_eq!(tuesday["hours"], json!([7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18]), "9:00 switched off, the rest kept");
    browser.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_meter_reads_of_a_month_show_billable_and_held_pages() -> anyhow::Result<()> {
    use cartouche_e2e::agent_socket;
    use cartouche_schema::wire::{Cycle, RawReading};

    let app = console_app().await?;
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await?;
    let (_, key) = TestApp::site_with_enrollment_key(&admin, "Lyon").await?;
    let (mut socket, agent) = agent_socket::linked(&app, &key, "pc-lyon").await?;
    let base = cartouche_e2e::recording("librenms/brother_hl5370dw.snmprec");
    // 1,000 pages in October, then a jump of ten million held for review.
    for (i, (at, value)) in
        [("2026-09-30T22:00:00Z", 5_000), ("2026-10-20T22:00:00Z", 6_000), ("2026-10-21T22:00:00Z", 10_006_000)]
            .into_iter()
            .enumerate()
    {
        let at = chrono::DateTime::parse_from_rfc3339(at)?.to_utc();
        let walk = cartouche_e2e::with_varbind(&base, "1.3.6.1.2.1.43.10.2.1.4.1.1", 65, &value.to_string());
        let reading = RawReading::snmp("10.9.0.12", Cycle::Discovery, at, walk);
        assert_eq!(agent_socket::deliver(&app, &mut socket, agent, i as u64 + 1, vec![reading]).await, None);
    }
    let pool = cartouche_schema::db::pool(app.db.url(), 2)?;
    cartouche_jobs::accounting::count_due(&pool).await?;

    let browser = Browser::start().await?;
    browser.client.goto(&format!("{}/meter-reads?month=2026-10", app.base_url)).await?;
    sign_in(&browser, "admin@acme.test").await?;
    let row = browser.wait_for("tr.meter-read.held[data-meter='total']").await?.text().await?;
    assert!(row.contains("1000") && row.contains("10000000") && row.contains("Lyon"), "{row}");
    browser.screenshot("meter-reads").await?;
    browser.client.find(Locator::Css("button.download")).await?.click().await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(browser.client.find_all(Locator::Css(".form-error")).await?.is_empty(), "the download failed");

    // A price plan made on the contracts page (a comma in a price refused at its field), and
    // October billed from it: 1,000 mono pages at 0.012 = 12.00 EUR; the held jump is not.
    browser.client.goto(&format!("{}/contracts?month=2026-10", app.base_url)).await?;
    browser.wait_for("form.plan-form").await?;
    browser.wait_for("form.plan-form input[name=name]").await?.send_keys("Acme standard").await?;
    retype(&browser, "form.plan-form input[name=monoPrice]", "0,012").await?;
    browser
        .client
        .execute(
            "const f = document.getElementById('field-validFrom'); f.value = '2026-10-01'; \
             f.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![],
        )
        .await?;
    browser.client.find(Locator::Css("form.plan-form button[type=submit]")).await?.click().await?;
    browser.wait_for(".field.invalid #field-monoPrice-error").await?;
    retype(&browser, "form.plan-form input[name=monoPrice]", "0.012").await?;
    browser.client.find(Locator::Css("form.plan-form button[type=submit]")).await?.click().await?;
    browser.wait_for("tr.plan[data-name='Acme standard']").await?;
    browser.client.goto(&format!("{}/contracts?month=2026-10", app.base_url)).await?;
    let bill = browser.wait_for(".plan-bill[data-plan='Acme standard'] .totals .total").await?.text().await?;
    assert_eq!(bill, "12.00 EUR");
    let lyon = browser.wait_for("tr.site-total").await?.text().await?;
    assert!(lyon.contains("Lyon") && lyon.contains("1000") && lyon.contains("12.00"), "{lyon}");
    browser.screenshot("contracts-bill").await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn supplies_to_order_and_shipments_are_on_their_page() -> anyhow::Result<()> {
    use cartouche_e2e::agent_socket;
    use cartouche_schema::wire::{Cycle, RawReading};
    use serde_json::json;

    let app = console_app().await?;
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await?;
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "Lyon").await?;
    admin
        .data(
            "mutation { createSupplyModel(input: { partNumber: \"DR-3200\", name: \"Drum\", kind: \"drum\", ratedYield: 25000 }) { id } }",
            json!({}),
            "createSupplyModel",
        )
        .await?;
    let today = chrono::Utc::now().date_naive();
    admin
        .data(
            "mutation($input: ShipmentInput!) { recordShipment(input: $input) { id } }",
            json!({ "input": { "siteId": site, "partNumber": "DR-3200", "quantity": 1, "serials": ["DRX00001"],
                "shippedOn": (today - chrono::Duration::days(3)).to_string() } }),
            "recordShipment",
        )
        .await?;
    let (mut socket, agent) = agent_socket::linked(&app, &key, "pc-lyon").await?;
    for (i, (days_ago, life, drum)) in
        [(20, 10_000, 20_000), (10, 12_500, 17_500), (1, 15_000, 15_000)].into_iter().enumerate()
    {
        let at = (today - chrono::Duration::days(days_ago)).and_hms_opt(12, 0, 0).unwrap().and_utc();
        let walk = cartouche_e2e::recording("librenms/brother_hl5370dw.snmprec");
        let walk = cartouche_e2e::with_varbind(&walk, "1.3.6.1.2.1.43.10.2.1.4.1.1", 65, &life.to_string());
        let walk = cartouche_e2e::with_varbind(&walk, "1.3.6.1.2.1.43.11.1.1.6.1.3", 4, "Drum Unit PN DR-3200");
        let walk = cartouche_e2e::with_varbind(&walk, "1.3.6.1.2.1.43.11.1.1.9.1.3", 2, &drum.to_string());
        let reading = RawReading::snmp("10.9.0.12", Cycle::Discovery, at, walk);
        assert_eq!(agent_socket::deliver(&app, &mut socket, agent, i as u64 + 1, vec![reading]).await, None);
    }
    cartouche_jobs::accounting::count_due(&cartouche_schema::db::pool(app.db.url(), 2)?).await?;

    let browser = Browser::start().await?;
    browser.client.goto(&format!("{}/supplies", app.base_url)).await?;
    sign_in(&browser, "admin@acme.test").await?;
    browser.wait_for("select#order-within").await?.select_by_value("90").await?;
    let row = browser.wait_for("tr.forecast[data-part='DR-3200']").await?.text().await?;
    assert!(row.contains("60 %"), "{row}");
    let shipped = browser.wait_for("tr.shipped[data-serial='DRX00001']").await?.text().await?;
    assert!(shipped.contains("Waiting"), "{shipped}");
    browser.screenshot("supplies").await?;
    browser.close().await?;
    Ok(())
}
