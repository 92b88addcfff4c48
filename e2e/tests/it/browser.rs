//! The console in headless Chromium, served by the real api.

use std::path::PathBuf;

use cartouche_e2e::app::{TestApp, TestAppOptions};
use cartouche_e2e::browser::Browser;
use cartouche_schema::domain::Role;
use fantoccini::Locator;

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
    let app = TestApp::start_with(TestAppOptions { web_dir: Some(web_dir()?), ..TestAppOptions::default() }).await?;
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
