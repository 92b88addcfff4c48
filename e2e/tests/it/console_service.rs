//! The console's service pages through the whole stack: the maintenance dashboard and a work
//! order taken and closed, a report asked for and made, notifications set up.

use cartouche_e2e::app::TestApp;
use cartouche_e2e::browser::Browser;
use fantoccini::Locator;

use crate::browser::{console_app, sign_in};
use crate::console::retype;

/// The maintenance page: a fuser failure the device calls a field-service matter opens a work
/// order by rule; it shows on the dashboard and in the list with its specialist badge and
/// estimate; a technician takes it and closes it with what it took, from its own page.
#[tokio::test(flavor = "multi_thread")]
async fn a_work_order_is_taken_and_closed_from_the_console() -> anyhow::Result<()> {
    use cartouche_e2e::agent_socket;
    use cartouche_schema::wire::{Cycle, RawReading};
    use serde_json::json;

    let app = console_app().await?;
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await?;
    let (_, key) = TestApp::site_with_enrollment_key(&admin, "Lyon").await?;
    for mutation in [
        "mutation { setLabourRate(skill: FIELD_TECHNICIAN, hourlyRate: \"90\") { skill } }",
        "mutation { createWorkOrderRule(input: { name: \"Specialists\", minSeverity: \"warning\", minSkill: FIELD_TECHNICIAN }) { id } }",
    ] {
        admin.run(mutation, json!({})).await?;
    }
    let (mut socket, agent) = agent_socket::linked(&app, &key, "pc-lyon").await?;
    let mut walk = cartouche_e2e::recording("librenms/brother_hl5370dw.snmprec");
    for (column, kind, value) in
        [(2, 2, "3"), (3, 2, "5"), (4, 2, "10"), (5, 2, "1"), (6, 2, "1"), (7, 2, "1001"), (8, 4, "Fuser failure")]
    {
        walk = cartouche_e2e::with_varbind(&walk, &format!("1.3.6.1.2.1.43.18.1.1.{column}.1.90"), kind, value);
    }
    let reading = RawReading::snmp("10.9.0.12", Cycle::Discovery, chrono::Utc::now(), walk);
    assert_eq!(agent_socket::deliver(&app, &mut socket, agent, 1, vec![reading]).await, None);
    let profiles = cartouche_schema::profiles::ProfileSet::builtin()?;
    let pass =
        cartouche_jobs::repairs::run_pass(&cartouche_schema::db::pool(app.db.url(), 2)?, &profiles.catalogue).await?;
    assert_eq!(pass.opened, 1);

    let browser = Browser::start().await?;
    browser.client.goto(&format!("{}/maintenance", app.base_url)).await?;
    sign_in(&browser, "admin@acme.test").await?;
    let row = browser.wait_for("tr.work-order[data-status='open']").await?.text().await?;
    assert!(row.contains("Fuser failure") && row.contains("specialist") && row.contains("~60 min · 270.00"), "{row}");
    let tiles = browser.wait_for("ul.tiles").await?.text().await?;
    assert!(tiles.contains("1\nNeed a specialist") || tiles.contains("1 Need a specialist"), "{tiles}");
    browser.screenshot("maintenance").await?;
    browser.client.find(Locator::LinkText("Fuser failure")).await?.click().await?;
    browser.wait_for("section.work-order .actions").await?;
    browser.client.find(Locator::XPath("//button[.='Take it']")).await?.click().await?;
    browser
        .until("the work order assigned", 15, async || {
            Ok(browser.client.find(Locator::Css("#work-order-status")).await?.text().await? == "Assigned")
        })
        .await?;
    browser.wait_for("select#work-order-move").await?.select_by_value("CLOSED").await?;
    browser.wait_for("input[name=labourMinutes]").await?.send_keys("45").await?;
    browser.client.find(Locator::Css("input[name=partsCost]")).await?.send_keys("150").await?;
    browser.client.find(Locator::Css("#work-order-comment")).await?.send_keys("Fuser replaced").await?;
    browser.client.find(Locator::Css("form.move button[type=submit]")).await?.click().await?;
    browser
        .until("the work order closed", 15, async || {
            Ok(browser.client.find(Locator::Css("#work-order-status")).await?.text().await? == "Closed")
        })
        .await?;
    let history = browser.wait_for("ol.history").await?.text().await?;
    assert!(history.contains("Fuser replaced") && history.contains("Assigned → Closed"), "{history}");
    assert_eq!(
        browser.count("ol.history li.event").await?,
        5,
        "opened, assigned, to assigned, to closed, comment: {}",
        history.replace('\n', " | ")
    );
    browser.screenshot("work-order-closed").await?;
    browser.close().await?;
    Ok(())
}

/// The reports page: a period that ends before it starts is refused at its field; a report
/// asked for from the page shows waiting, then ready with its download once the worker made it.
#[tokio::test(flavor = "multi_thread")]
async fn a_report_is_asked_for_and_becomes_ready_on_its_page() -> anyhow::Result<()> {
    let app = console_app().await?;
    app.tenant_with_enrollment_key("Acme").await?;
    let browser = Browser::start().await?;
    browser.client.goto(&format!("{}/reports", app.base_url)).await?;
    sign_in(&browser, "admin@acme.test").await?;
    browser.wait_for("form.report-form").await?;
    let set_date = async |id: &str, value: &str| -> anyhow::Result<()> {
        let script = format!(
            "const f = document.getElementById('{id}'); f.value = '{value}'; \
             f.dispatchEvent(new Event('input', {{ bubbles: true }}));"
        );
        browser.client.execute(&script, vec![]).await?;
        Ok(())
    };
    set_date("field-to", "2020-01-01").await?;
    browser.client.find(Locator::Css("form.report-form button[type=submit]")).await?.click().await?;
    let message = browser.wait_for(".field.invalid #field-to-error").await?.text().await?;
    assert!(message.contains("before it starts"), "{message}");
    set_date("field-from", "2026-10-01").await?;
    set_date("field-to", "2026-11-01").await?;
    browser.wait_for("select#report-format").await?.select_by_value("XLSX").await?;
    browser.client.find(Locator::Css("form.report-form button[type=submit]")).await?.click().await?;
    browser.wait_for("tr.report[data-status='queued'][data-format='XLSX']").await?;
    let catalogue = cartouche_schema::profiles::ProfileSet::builtin()?.catalogue;
    assert_eq!(cartouche_jobs::reports::make_due(&cartouche_schema::db::pool(app.db.url(), 2)?, &catalogue).await?, 1);
    let row = browser.wait_for("tr.report[data-status='done']").await?.text().await?;
    assert!(row.contains("2026-10-01 → 2026-11-01") && row.contains("Ready"), "{row}");
    assert_eq!(browser.count("tr.report[data-status='done'] button.download").await?, 1);
    browser.screenshot("reports").await?;
    browser.close().await?;
    Ok(())
}

/// The notifications page: your e-mail preferences saved; a webhook with a URL that is not
/// http(s) refused at its field, a good one added with its secret shown once.
#[tokio::test(flavor = "multi_thread")]
async fn notifications_are_set_up_from_their_page() -> anyhow::Result<()> {
    use serde_json::json;

    let app = console_app().await?;
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await?;
    let browser = Browser::start().await?;
    browser.client.goto(&format!("{}/notifications", app.base_url)).await?;
    sign_in(&browser, "admin@acme.test").await?;
    browser.wait_for("form.my-preferences input[name=SUPPLY_REORDER]").await?.click().await?;
    browser.client.find(Locator::Css("form.my-preferences button[type=submit]")).await?.click().await?;
    browser.wait_for("form.my-preferences .saved").await?;
    browser.wait_for("form.tenant-settings input[name=WORK_ORDER]").await?.click().await?;
    browser.client.find(Locator::Css("form.tenant-settings button[type=submit]")).await?.click().await?;
    browser.wait_for("form.tenant-settings .saved").await?;
    let tenant =
        admin.data("{ tenantNotificationSettings { workOrder } }", json!({}), "tenantNotificationSettings").await?;
    assert_eq!(tenant, json!({ "workOrder": false }));
    let saved = admin
        .data(
            "{ notificationPreferences { criticalAlert supplyReorder workOrder } }",
            json!({}),
            "notificationPreferences",
        )
        .await?;
    assert_eq!(saved, json!({ "criticalAlert": true, "supplyReorder": true, "workOrder": true }));
    browser.wait_for("form.webhook-form input[name=url]").await?.send_keys("ftp://erp.test/hook").await?;
    browser.client.find(Locator::Css("form.webhook-form button[type=submit]")).await?.click().await?;
    let message = browser.wait_for(".field.invalid #field-url-error").await?.text().await?;
    assert!(message.contains("http"), "{message}");
    retype(&browser, "form.webhook-form input[name=url]", "https://erp.test/hooks/cartouche").await?;
    browser.client.find(Locator::Css("form.webhook-form button[type=submit]")).await?.click().await?;
    let secret = browser.wait_for("form.webhook-form .secret code").await?.text().await?;
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");
    let listed = browser.wait_for("li.webhook").await?.text().await?;
    assert!(listed.contains("https://erp.test/hooks/cartouche") && listed.contains("critical alert"), "{listed}");
    browser.screenshot("notifications").await?;
    browser.close().await?;
    Ok(())
}
