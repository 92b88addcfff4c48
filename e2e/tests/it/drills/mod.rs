//! Reliability drills: things break while the platform works, and each drill prints what it
//! checked. Run alone with `cargo nextest run -p cartouche-e2e drills --success-output immediate`.

mod api_kills;
mod full_spool;
mod misbehaving_fleet;
mod thousand_agents;

use std::sync::{Arc, Mutex};

use cartouche_agent::link::{self, Enrollment, LinkHandles, LinkOptions};
use cartouche_agent::spool::Spool;
use cartouche_schema::wire::{AgentConfig, RawReading};
use tokio::sync::{Notify, mpsc, watch};

/// A running agent link (the agent's own code) draining `spool` to its server.
pub struct Link {
    pub spool: Arc<Mutex<Spool>>,
    pub pushed: Arc<Notify>,
    pub connected: watch::Receiver<bool>,
    /// The configuration the server sent last.
    pub config: watch::Receiver<Option<AgentConfig>>,
    stop: watch::Sender<bool>,
    running: tokio::task::JoinHandle<Result<(), link::LinkError>>,
}

impl Link {
    pub fn start(enrollment: Enrollment, spool: Spool, options: LinkOptions) -> Link {
        let spool = Arc::new(Mutex::new(spool));
        let pushed = Arc::new(Notify::new());
        let (config, config_rx) = watch::channel(None);
        let (connected_tx, connected) = watch::channel(false);
        let (run_now, _) = mpsc::unbounded_channel();
        let handles =
            LinkHandles { spool: spool.clone(), pushed: pushed.clone(), config, connected: connected_tx, run_now };
        let (stop, stopped) = watch::channel(false);
        let (reports_tx, reports) = mpsc::unbounded_channel();
        let running = tokio::spawn(async move {
            // The sender side of the reports stays alive as long as the link runs.
            let _keep = reports_tx;
            link::run(&enrollment, vec![], handles, reports, options, stopped).await
        });
        Link { spool, pushed, connected, config: config_rx, stop, running }
    }

    /// Pushes one batch into the spool (as a cycle does) and wakes the link.
    pub fn push(&self, payload: &[u8]) -> u64 {
        let sequence = self.lock().push(payload).expect("the drill's spool has room").sequence;
        self.pushed.notify_one();
        sequence
    }

    /// Pushes readings as the agent's cycles do (50 a batch); the sequences pushed.
    pub fn push_readings(&self, readings: &[RawReading]) -> Vec<u64> {
        readings.chunks(50).map(|chunk| self.push(&serde_json::to_vec(chunk).expect("readings serialise"))).collect()
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Spool> {
        self.spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub async fn stop(self) {
        self.stop.send_replace(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(15), self.running).await;
    }
}
