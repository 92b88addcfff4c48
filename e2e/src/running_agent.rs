//! The real agent, as `cartouche-agent run` runs it, inside a test: enrolled with a key, its
//! spool in a temporary directory, its cycles aimed at the simulator's port, quick heartbeats.

use std::sync::Arc;
use std::time::Duration;

use cartouche_agent::link::{self, Enrollment, LinkOptions};
use cartouche_agent::service::run_agent;
use cartouche_agent::spool::{FullPolicy, Spool};
use cartouche_schema::profiles::ProfileSet;
use tokio::sync::oneshot;

pub struct RunningAgent {
    pub enrollment: Enrollment,
    dir: std::path::PathBuf,
    stop: Option<oneshot::Sender<()>>,
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl RunningAgent {
    /// Enrolls with `secret` at `base_url` as `name` and runs, reading printers on `port`.
    pub async fn start(base_url: &str, secret: &str, name: &str, port: u16) -> anyhow::Result<RunningAgent> {
        let enrollment = link::enroll(base_url, secret, name, None).await?;
        let dir =
            std::env::temp_dir().join(format!("cartouche-agent-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir)?;
        let spool = Spool::open(&dir.join("spool.db"), 64 << 20, FullPolicy::RefuseNew)?;
        let link_options = LinkOptions {
            heartbeat: Duration::from_millis(300),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_millis(500),
            ..LinkOptions::default()
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let running = tokio::spawn(run_agent(
            enrollment.clone(),
            Arc::new(ProfileSet::builtin()?),
            spool,
            crate::simulator::cycle_options(port),
            link_options,
            async {
                let _ = stopped.await;
            },
        ));
        Ok(RunningAgent { enrollment, dir, stop: Some(stop), running: Some(running) })
    }

    /// Stops the agent, waits for it, and removes its spool.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(running) = self.running.take() {
            running.await??;
        }
        std::fs::remove_dir_all(&self.dir)?;
        Ok(())
    }
}

/// Creates a discovery range from `first` to `last` at `site` that discovers every hour of
/// every day (the agent's first run of it starts at once) and leaves counters and alerts to
/// cycles the test asks for; returns its id.
pub async fn hourly_discovery_range(
    admin: &crate::graphql::GraphqlClient,
    site: &str,
    name: &str,
    first: std::net::Ipv4Addr,
    last: std::net::Ipv4Addr,
) -> anyhow::Result<String> {
    let every_hour: Vec<_> = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
        .iter()
        .map(|d| serde_json::json!({ "weekday": d, "hours": (0..24).collect::<Vec<_>>() }))
        .collect();
    let range = admin
        .data(
            "mutation($input: DiscoveryRangeInput!) { createDiscoveryRange(input: $input) { id } }",
            serde_json::json!({ "input": {
                "siteId": site,
                "name": name,
                "ranges": format!("{first}-{last}"),
                "schedules": [
                    { "cycle": "DISCOVERY", "schedule": { "weekly": every_hour } },
                    { "cycle": "COUNTERS", "schedule": { "disabled": true } },
                    { "cycle": "ALERTS", "schedule": { "disabled": true } },
                ],
            } }),
            "createDiscoveryRange",
        )
        .await?;
    range["id"].as_str().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("no range id in {range}"))
}
