//! Headless Chromium through chromedriver (Debian's `chromium` and `chromium-driver`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::process::{Child, Command};

/// A browser session; the driver and the profile folder go away on drop.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn find(program: &str, candidates: &[&str]) -> anyhow::Result<String> {
    candidates.iter().find(|path| std::path::Path::new(path).is_file()).map(|path| (*path).to_owned()).with_context(
        || format!("{program} is not installed (./dev install brings Debian's chromium and chromium-driver)"),
    )
}

impl Browser {
    pub async fn start() -> anyhow::Result<Browser> {
        let driver_path = find("chromedriver", &["/usr/bin/chromedriver"])?;
        let chromium = find("chromium", &["/usr/bin/chromium"])?;
        let port = free_port()?;
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting chromedriver")?;
        let profile = std::env::temp_dir().join(format!("cartouche-chromium-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&profile)?;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-quic", "--no-first-run", "--window-size=1280,900", "--lang=en-US",
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": { "intl.accept_languages": "en-US,en" }
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let client = loop {
            let attempt = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await;
            match attempt {
                Ok(client) => break client,
                Err(err) if tokio::time::Instant::now() > deadline => {
                    return Err(anyhow::anyhow!("could not start a Chromium session: {err}"));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Ok(Browser { client, driver, profile })
    }

    /// Waits for an element, up to 15 s.
    pub async fn wait_for(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("waiting for {css}"))
    }

    /// Waits until the page's text contains `text`, up to 15 s.
    pub async fn wait_for_text(&self, text: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let body = self.client.find(Locator::Css("body")).await?.text().await?;
            if body.contains(text) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("the page never showed {text:?}; it shows:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `check` says yes, up to `seconds`; `what` names it when it never does.
    pub async fn until(
        &self,
        what: &str,
        seconds: u64,
        mut check: impl AsyncFnMut() -> anyhow::Result<bool>,
    ) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        while !check().await? {
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// How many elements match `css` now.
    pub async fn count(&self, css: &str) -> anyhow::Result<usize> {
        Ok(self.client.find_all(Locator::Css(css)).await?.len())
    }

    /// Resizes the window (a tablet: 768 × 1024) and says whether the page then fits its
    /// width: nothing but the tables' own scroll areas may be wider than the screen.
    pub async fn fits_width(&self, width: u32, height: u32) -> anyhow::Result<bool> {
        self.client.set_window_size(width, height).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let fits =
            self.client.execute("return document.documentElement.scrollWidth <= window.innerWidth;", vec![]).await?;
        Ok(fits.as_bool() == Some(true))
    }

    /// Saves a screenshot as a test artefact and returns its path.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = artefact_dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await?)?;
        Ok(path)
    }

    pub async fn close(mut self) -> anyhow::Result<()> {
        self.client.clone().close().await?;
        let _ = self.driver.kill().await;
        Ok(())
    }
}

/// Where screenshots go: `target/screenshots` (or `CARTOUCHE_ARTEFACTS`).
pub fn artefact_dir() -> PathBuf {
    std::env::var_os("CARTOUCHE_ARTEFACTS")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots"), PathBuf::from)
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
