//! The console in headless Chromium, served by the real api (the whole chain with a real agent
//! and the simulator is in `console`).

use std::path::PathBuf;

use cartouche_e2e::app::{TestApp, TestAppOptions};
use cartouche_e2e::browser::Browser;
use cartouche_schema::domain::Role;
use fantoccini::Locator;

/// The real api serving the built console.
pub(crate) async fn console_app() -> anyhow::Result<TestApp> {
    TestApp::start_with(TestAppOptions { web_dir: Some(web_dir()?), ..TestAppOptions::default() }).await
}

fn web_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("CARTOUCHE_WEB_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/dist"), PathBuf::from);
    anyhow::ensure!(
        dir.join("index.html").is_file() && dir.join("app_bg.wasm").is_file(),
        "the console is not built in {}: run ./dev web (./dev test does it)",
        dir.display()
    );
    Ok(dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_signs_in_sees_the_shell_switches_language_and_signs_out() -> anyhow::Result<()> {
    let app = console_app().await?;
    let tenant = app.tenant("Acme Print", None).await?;
    app.user(tenant.id, "ada@acme.test", Role::Admin, "correct horse battery").await?;

    let browser = Browser::start().await?;
    // A deep link works: the api answers the SPA's own routes with index.html.
    browser.client.goto(&format!("{}/sites", app.base_url)).await?;
    browser.wait_for("form.login input[name=email]").await?;
    browser.screenshot("login").await?;

    // A wrong password shows the server's message and keeps the form.
    browser.wait_for("input[name=email]").await?.send_keys("ada@acme.test").await?;
    browser.wait_for("input[name=password]").await?.send_keys("wrong password").await?;
    browser.wait_for("button[type=submit]").await?.click().await?;
    browser.wait_for_text("wrong e-mail or password").await?;

    let password = browser.wait_for("input[name=password]").await?;
    password.clear().await?;
    password.send_keys("correct horse battery").await?;
    browser.wait_for("button[type=submit]").await?.click().await?;

    // The shell: navigation, the signed-in user and tenant, and the page asked for.
    browser.wait_for("nav.sidebar").await?;
    browser.wait_for_text("ada@acme.test").await?;
    browser.wait_for_text("Acme Print").await?;
    browser.wait_for_text("Sites").await?;
    browser.screenshot("shell-sites").await?;

    // Create a site through the form: a bad time zone is refused next to its field, then fixed.
    browser.wait_for("form.create input[name=name]").await?.send_keys("Lyon Part-Dieu").await?;
    let zone = browser.wait_for("form.create input[name=timeZone]").await?;
    zone.clear().await?;
    zone.send_keys("Europe/Lyon").await?;
    browser.wait_for("form.create button[type=submit]").await?.click().await?;
    let error = browser.wait_for(".field.invalid #field-timeZone-error").await?;
    assert!(error.text().await?.contains("Europe/Lyon"), "the time zone error names the value");
    browser.screenshot("site-validation").await?;
    zone.clear().await?;
    zone.send_keys("Europe/Paris").await?;
    browser.wait_for("form.create button[type=submit]").await?.click().await?;
    browser.wait_for_text("Lyon Part-Dieu").await?;
    assert!(browser.client.find_all(Locator::Css(".field.invalid")).await?.is_empty());

    // Users and roles: an admin makes a viewer a manager from the list (not themselves).
    app.user(tenant.id, "bob@acme.test", Role::Viewer, "correct horse battery").await?;
    browser.client.find(Locator::LinkText("Users")).await?.click().await?;
    browser.wait_for_text("bob@acme.test").await?;
    assert_eq!(browser.client.find_all(Locator::Css("select.role")).await?.len(), 1, "one role to change: bob's");
    browser.wait_for("select.role").await?.select_by_value("MANAGER").await?;
    let ada = app.signed_in("ada@acme.test", "correct horse battery").await?;
    browser
        .until("bob a manager", 15, async || {
            let users = ada.data("{ users { nodes { email role } } }", serde_json::json!({}), "users").await?;
            let bob = users["nodes"].as_array().unwrap().iter().find(|u| u["email"] == "bob@acme.test").cloned();
            Ok(bob.is_some_and(|b| b["role"] == "MANAGER"))
        })
        .await?;
    browser.screenshot("users").await?;

    browser.client.find(Locator::Css("button.lang-fr")).await?.click().await?;
    browser.wait_for_text("Déconnexion").await?;
    browser.screenshot("shell-fr").await?;

    browser.client.find(Locator::Css("button.logout")).await?.click().await?;
    browser.wait_for("form.login input[name=email]").await?;
    // Still French after signing out: the choice is remembered.
    browser.wait_for_text("Connexion").await?;
    browser.close().await?;
    Ok(())
}

/// Signs in through the login form the console shows (password of the test users).
pub(crate) async fn sign_in(browser: &Browser, email: &str) -> anyhow::Result<()> {
    browser.wait_for("input[name=email]").await?.send_keys(email).await?;
    browser.wait_for("input[name=password]").await?.send_keys("correct horse battery").await?;
    browser.wait_for("button[type=submit]").await?.click().await?;
    Ok(())
}

/// Rows of the device list, once they number `n` (the list reloads after a filter).
pub(crate) async fn device_rows(browser: &Browser, n: usize) -> anyhow::Result<Vec<String>> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let rows = browser.client.find_all(Locator::Css("tr.device")).await?;
        if rows.len() == n {
            let mut serials = Vec::new();
            for row in rows {
                serials.push(row.attr("data-serial").await?.unwrap_or_default());
            }
            return Ok(serials);
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "{} device rows, not {n}", rows.len());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_device_list_shows_what_agents_found_and_filters_on_the_server() -> anyhow::Result<()> {
    use cartouche_e2e::agent_socket;
    use cartouche_schema::wire::{Cycle, RawReading};

    let app = console_app().await?;
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await?;
    let (_, key) = TestApp::site_with_enrollment_key(&admin, "Lyon").await?;
    let (mut socket, agent) = agent_socket::linked(&app, &key, "pc-lyon").await?;
    let at = chrono::Utc::now() - chrono::Duration::minutes(5);
    let readings = vec![
        RawReading::snmp("10.9.0.11", Cycle::Discovery, at, cartouche_e2e::recording("librenms/konica_c250i.snmprec")),
        RawReading::snmp(
            "10.9.0.12",
            Cycle::Discovery,
            at,
            cartouche_e2e::recording("librenms/brother_hl5370dw.snmprec"),
        ),
    ];
    assert_eq!(agent_socket::deliver(&app, &mut socket, agent, 1, readings).await, None);
    let found =
        admin.data("{ devices { edges { node { serial vendor } } } }", serde_json::json!({}), "devices").await?;
    let brother = found["edges"]
        .as_array()
        .and_then(|edges| edges.iter().find(|e| e["node"]["vendor"] == "Brother"))
        .and_then(|e| e["node"]["serial"].as_str())
        .expect("the Brother is listed with its serial")
        .to_owned();

    let browser = Browser::start().await?;
    browser.client.goto(&format!("{}/devices", app.base_url)).await?;
    sign_in(&browser, "admin@acme.test").await?;
    browser.wait_for("form.filters").await?;
    let serials = device_rows(&browser, 2).await?;
    assert!(serials.contains(&brother), "{serials:?}");
    browser.wait_for_text("Lyon").await?;
    browser.wait_for("tr.device .gauge").await?;
    browser.screenshot("devices").await?;

    // A printer found while the page is open appears without a reload.
    let found_later = vec![RawReading::snmp(
        "10.9.0.13",
        Cycle::Discovery,
        at + chrono::Duration::seconds(30),
        cartouche_e2e::recording("librenms/jetdirect.snmprec"),
    )];
    assert_eq!(agent_socket::deliver(&app, &mut socket, agent, 2, found_later).await, None);
    device_rows(&browser, 3).await?;

    // Sorted on the server: longest unseen first puts the printer just found last.
    browser.wait_for("select[name=orderBy]").await?.select_by_value("LAST_SEEN").await?;
    browser
        .until("the list sorted by last seen", 15, async || {
            let rows = browser.client.find_all(Locator::Css("tr.device")).await?;
            Ok(rows.len() == 3 && rows[2].text().await?.contains("10.9.0.13"))
        })
        .await?;
    browser.wait_for("select[name=orderBy]").await?.select_by_value("NAME").await?;

    // Part of a serial, searched on the server.
    let part = &brother[brother.len() - 5..];
    browser.wait_for("input[name=search]").await?.send_keys(part).await?;
    browser.wait_for("form.filters button[type=submit]").await?.click().await?;
    assert_eq!(device_rows(&browser, 1).await?, vec![brother.clone()]);
    browser.screenshot("devices-search").await?;

    // Nothing matches: the empty state says so; clearing brings the fleet back.
    browser.wait_for("input[name=vendor]").await?.send_keys("Xerox").await?;
    browser.wait_for("form.filters button[type=submit]").await?.click().await?;
    device_rows(&browser, 0).await?;
    browser.wait_for_text("No devices match").await?;
    browser.client.find(Locator::Css("form.filters button[type=button]")).await?.click().await?;
    device_rows(&browser, 3).await?;

    // The overview counts the fleet: three devices, the agent linked.
    browser.client.find(Locator::LinkText("Overview")).await?.click().await?;
    browser.wait_for_text("The fleet at a glance").await?;
    let total = browser.wait_for(".tile.total .value").await?.text().await?;
    assert_eq!(total, "3");
    assert_eq!(browser.wait_for(".tile.agents .value").await?.text().await?, "1 / 1");
    // What needs someone: the empty toner listed (linked to its device), no agent offline.
    browser.wait_for(".attention li.low-supply a").await?;
    browser.wait_for_text("Every agent is linked.").await?;
    browser.screenshot("overview").await?;

    // A jam while the overview is open: the feed and the count follow, live.
    let jam = cartouche_e2e::jammed(&cartouche_e2e::recording("librenms/konica_c250i.snmprec"));
    assert_eq!(
        agent_socket::deliver(
            &app,
            &mut socket,
            agent,
            3,
            vec![RawReading::snmp("10.9.0.11", Cycle::Discovery, at + chrono::Duration::seconds(45), jam)]
        )
        .await,
        None
    );
    browser.wait_for(".feed li.alert").await?;
    browser.wait_for_text("Paper jam in tray 1").await?;
    browser.screenshot("overview-alert").await?;

    // A device's page: identity, supplies with their levels, alerts, addresses.
    browser.client.find(Locator::LinkText("Devices")).await?.click().await?;
    device_rows(&browser, 3).await?;
    browser
        .client
        .find(Locator::XPath("//tr[contains(@class, 'device')]//a[contains(., 'Brother')]"))
        .await?
        .click()
        .await?;
    browser.wait_for(".device-page").await?;
    browser.wait_for_text(&brother).await?;
    browser.wait_for("tr.supply .gauge").await?;
    browser.wait_for_text("10.9.0.12").await?;
    browser.wait_for_text("69 %").await?;
    browser.screenshot("device").await?;

    // The drum is read lower: the open page follows, live.
    let drum = cartouche_e2e::recording("librenms/brother_hl5370dw.snmprec")
        .replace("1.3.6.1.2.1.43.11.1.1.9.1.3|2|17208", "1.3.6.1.2.1.43.11.1.1.9.1.3|2|5000");
    assert_eq!(
        agent_socket::deliver(
            &app,
            &mut socket,
            agent,
            4,
            vec![RawReading::snmp("10.9.0.12", Cycle::Discovery, at + chrono::Duration::seconds(60), drum)]
        )
        .await,
        None
    );
    browser.wait_for_text("20 %").await?;

    browser.client.find(Locator::Css("button.lang-fr")).await?.click().await?;
    browser.wait_for_text("Retour aux périphériques").await?;
    browser.screenshot("device-fr").await?;
    browser.close().await?;
    Ok(())
}

/// Rows of a list with `data-name` = `name`, once there.
pub(crate) async fn row_named(browser: &Browser, class: &str, name: &str) -> anyhow::Result<String> {
    Ok(browser.wait_for(&format!("tr.{class}[data-name='{name}']")).await?.text().await?)
}

#[tokio::test(flavor = "multi_thread")]
async fn snmp_credentials_are_made_and_their_secrets_never_come_back() -> anyhow::Result<()> {
    let app = console_app().await?;
    app.tenant_with_enrollment_key("Acme").await?;
    let browser = Browser::start().await?;
    browser.client.goto(&format!("{}/credentials", app.base_url)).await?;
    sign_in(&browser, "admin@acme.test").await?;
    browser.wait_for("form.credential-form").await?;

    // v2c: a community, typed once.
    browser.wait_for("form.credential-form input[name=name]").await?.send_keys("Office v2c").await?;
    browser.wait_for("form.credential-form input[name=community]").await?.send_keys("s3cret-community").await?;
    browser.wait_for("form.credential-form button[type=submit]").await?.click().await?;
    assert!(row_named(&browser, "credential", "Office v2c").await?.contains("V2C"));

    // v3: a password too short is refused next to its field, then a good one is kept.
    browser.wait_for("select[name=version]").await?.select_by_value("V3").await?;
    let name = browser.wait_for("form.credential-form input[name=name]").await?;
    name.clear().await?;
    name.send_keys("Office v3").await?;
    browser.wait_for("form.credential-form input[name=user]").await?.send_keys("monitor").await?;
    let auth = browser.wait_for("form.credential-form input[name=authPassword]").await?;
    auth.send_keys("short").await?;
    browser.wait_for("form.credential-form input[name=privPassword]").await?.send_keys("privacy-pass-2").await?;
    browser.wait_for("form.credential-form button[type=submit]").await?.click().await?;
    browser.wait_for(".field.invalid #field-authPassword-error").await?;
    browser.screenshot("credentials-validation").await?;
    auth.clear().await?;
    auth.send_keys("auth-pass-1").await?;
    browser.wait_for("form.credential-form button[type=submit]").await?.click().await?;
    let row = row_named(&browser, "credential", "Office v3").await?;
    assert!(row.contains("V3") && row.contains("monitor") && row.contains("SHA256") && row.contains("AES128"), "{row}");
    browser.screenshot("credentials").await?;

    // The secrets are nowhere on the page once stored.
    let page = browser.client.source().await?;
    for secret in ["s3cret-community", "auth-pass-1", "privacy-pass-2"] {
        assert!(!page.contains(secret), "{secret} is still on the page");
    }
    browser.close().await?;
    Ok(())
}
