//! `cartouche-console-bench`: the console's figures, printed, never asserted. The real api
//! serves the built console (`web/dist`, or `CARTOUCHE_WEB_DIR`) on a fresh database of the
//! private PostgreSQL (`DATABASE_URL`), with a synthetic fleet; headless Chromium opens the
//! device list cold (a full page load: the wasm, the session refreshed, the first page asked)
//! and the time until its first 50 rows are on screen is taken, several times.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cartouche_e2e::agent_socket;
use cartouche_e2e::app::{TestApp, TestAppOptions};
use cartouche_e2e::browser::Browser;
use clap::Parser;
use fantoccini::Locator;

#[derive(Parser)]
struct Cli {
    /// Devices in the fleet.
    #[arg(long, default_value_t = 10_000)]
    devices: i64,
    /// Cold loads of the device list measured.
    #[arg(long, default_value_t = 7)]
    loads: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    std::env::var("DATABASE_URL").context("DATABASE_URL names the PostgreSQL server (./dev bench sets it)")?;
    let web_dir = std::env::var_os("CARTOUCHE_WEB_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/dist"), PathBuf::from);
    anyhow::ensure!(
        web_dir.join("app_bg.wasm").is_file(),
        "the console is not built in {}: ./dev web",
        web_dir.display()
    );
    let wasm = std::fs::metadata(web_dir.join("app_bg.wasm"))?.len();
    let app = TestApp::start_with(TestAppOptions { web_dir: Some(web_dir), ..TestAppOptions::default() }).await?;
    let (tenant, admin, _) = app.tenant_with_enrollment_key("Bench").await?;
    let (_, key) = TestApp::site_with_enrollment_key(&admin, "HQ").await?;
    let (agent_id, _) = agent_socket::enrolled(&app, &key, "bench").await?;
    {
        let mut conn = app.db.conn().await?;
        cartouche_e2e::synthetic::fleet(&mut conn, tenant.id, agent_id.parse()?, cli.devices).await?;
        diesel_async::RunQueryDsl::execute(diesel::sql_query("ANALYZE"), &mut conn).await?;
    }

    let browser = Browser::start().await?;
    browser.client.goto(&format!("{}/devices", app.base_url)).await?;
    browser.wait_for("input[name=email]").await?.send_keys("admin@bench.test").await?;
    browser.wait_for("input[name=password]").await?.send_keys("correct horse battery").await?;
    browser.wait_for("button[type=submit]").await?.click().await?;
    browser.wait_for("tr.device").await?;
    let mut times = Vec::new();
    for _ in 0..cli.loads + 1 {
        let started = Instant::now();
        browser.client.goto(&format!("{}/devices", app.base_url)).await?;
        loop {
            if browser.client.find_all(Locator::Css("tr.device")).await?.len() >= 50 {
                break;
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(30), "the device list never showed 50 rows");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        times.push(started.elapsed());
    }
    // The first load also fills the browser's cache: not counted.
    let mut times = times.split_off(1);
    times.sort();
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    println!(
        "console: device list cold load to its first 50 rows with {} devices: median {} worst {} over {} loads (target ≤ 1 s); wasm {} KiB raw",
        cli.devices,
        ms(times[times.len() / 2]),
        ms(*times.last().unwrap_or(&Duration::ZERO)),
        times.len(),
        wasm / 1024
    );
    browser.close().await?;
    Ok(())
}
