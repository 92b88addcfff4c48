//! The agent as a service: the link keeps the configuration current and drains the spool;
//! `drive` runs the cycles that fall due (or that the server asks for now), one at a time,
//! and puts their readings in the spool in batches before anything is reported. Last runs
//! are kept in the spool's database, so a restart does not run every cycle again at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cartouche_schema::profiles::ProfileSet;
use cartouche_schema::wire::{AgentConfig, CycleReport, RawReading};
use chrono::Utc;
use tokio::sync::{Notify, mpsc, watch};

use crate::cycles::{self, CycleOptions};
use crate::link::{self, Enrollment, LinkHandles, LinkOptions, RunNow};
use crate::scheduler::{Due, Scheduler, cycle_name};
use crate::spool::{Spool, SpoolError};

/// The longest the service sleeps without looking at the clock again (the wall clock may
/// jump: a laptop waking up, an NTP correction).
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// The range id local printers' runs and reports go under.
pub const LOCAL_RANGE: &str = "local";
/// The spool note holding the last local read's per-source report (JSON).
pub const LOCAL_NOTE: &str = "local_sources";
/// Local printers' polling interval when the server says nothing, or says "with the network
/// counters" while the agent has no range.
const DEFAULT_LOCAL_MINUTES: i64 = 30;

/// How often local printers are read under `config`: every N minutes, or `None` for "after
/// each network counters cycle".
fn local_every(config: Option<&AgentConfig>) -> Option<chrono::Duration> {
    match config {
        None => Some(chrono::Duration::minutes(DEFAULT_LOCAL_MINUTES)),
        Some(c) => match c.usb_interval_minutes {
            Some(m) => Some(chrono::Duration::minutes(i64::from(m.max(1)))),
            None if c.ranges.is_empty() => Some(chrono::Duration::minutes(DEFAULT_LOCAL_MINUTES)),
            None => None,
        },
    }
}

/// Resolves once `shutdown` says stop (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// What the cycles need besides the configuration.
pub struct Driver {
    pub spool: Arc<Mutex<Spool>>,
    /// Woken after readings are pushed (the link sends them).
    pub pushed: Arc<Notify>,
    pub reports: mpsc::UnboundedSender<CycleReport>,
    pub profiles: Arc<ProfileSet>,
    pub options: CycleOptions,
    /// Readings per spooled batch (one websocket message each).
    pub batch_size: usize,
}

impl Driver {
    /// Runs cycles until `shutdown`: whenever one is due in the configuration, and whenever
    /// the server asks. Returns only on shutdown or when the configuration channel closes.
    pub async fn drive(
        &self,
        mut config: watch::Receiver<Option<AgentConfig>>,
        mut run_now: mpsc::UnboundedReceiver<RunNow>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), SpoolError> {
        let last_runs = self.lock().last_runs()?;
        let mut last_local = last_runs
            .iter()
            .find(|(range, _, _)| range == LOCAL_RANGE)
            .and_then(|(_, _, at)| chrono::DateTime::from_timestamp(*at, 0));
        let mut scheduler = Scheduler::from_last_runs(last_runs);
        let mut reported_problems = Vec::new();
        loop {
            let current = config.borrow_and_update().clone();
            let mut wake = MAX_SLEEP;
            if let Some(local) = &self.options.local
                && let Some(every) = local_every(current.as_ref())
            {
                let next = last_local.map_or_else(Utc::now, |last| last + every);
                if next <= Utc::now() {
                    self.run_local(local, &mut last_local).await?;
                } else {
                    wake = wake.min((next - Utc::now()).to_std().unwrap_or(Duration::ZERO));
                }
            }
            if let Some(current) = &current {
                let now = Utc::now();
                let (due, problems) = scheduler.due(current, now);
                // Configuration problems are said once per configuration, not every minute.
                let said: Vec<String> = problems.iter().map(ToString::to_string).collect();
                if said != reported_problems {
                    for problem in &said {
                        tracing::error!(%problem, "configuration problem; this range's cycles do not run");
                    }
                    reported_problems = said;
                }
                let mut counters_ran = false;
                for Due { range_id, cycle } in due {
                    if *shutdown.borrow() {
                        return Ok(());
                    }
                    self.run_one(current, &range_id, cycle, &mut scheduler).await?;
                    counters_ran |= cycle == cartouche_schema::wire::Cycle::Counters;
                }
                // Local printers "with the network counters": once after a round of them.
                if counters_ran
                    && let Some(local) = &self.options.local
                    && local_every(Some(current)).is_none()
                {
                    self.run_local(local, &mut last_local).await?;
                }
                if let Some(next) = scheduler.next_wake(current, Utc::now()) {
                    let until = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                    wake = until.min(MAX_SLEEP);
                }
            }
            tokio::select! {
                () = tokio::time::sleep(wake) => {}
                changed = config.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                }
                Some(order) = run_now.recv() => {
                    // The configuration may have changed since this turn began (a server
                    // sends a new configuration and then the order): use the latest.
                    let latest = config.borrow_and_update().clone();
                    if let Some(current) = &latest {
                        let ranges: Vec<String> = current
                            .ranges
                            .iter()
                            .filter(|r| order.range_id.as_ref().is_none_or(|id| *id == r.id))
                            .map(|r| r.id.clone())
                            .collect();
                        if ranges.is_empty() {
                            tracing::warn!(range = ?order.range_id, "run-now for a range this agent does not have");
                        }
                        for range_id in ranges {
                            self.run_one(current, &range_id, order.cycle, &mut scheduler).await?;
                        }
                    }
                }
                () = stopped(&mut shutdown) => return Ok(()),
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Spool> {
        // A panic while holding the lock leaves a consistent database (SQLite transactions);
        // keep going with it.
        self.spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn run_one(
        &self,
        config: &AgentConfig,
        range_id: &str,
        cycle: cartouche_schema::wire::Cycle,
        scheduler: &mut Scheduler,
    ) -> Result<(), SpoolError> {
        let started_at = Utc::now();
        // The run counts from its start, whatever its outcome: a failing range is retried at
        // its next slot, not in a tight loop.
        scheduler.ran(range_id, cycle, started_at);
        self.remember_run(range_id, cycle_name(cycle), started_at)?;
        match cycles::run(config, range_id, cycle, &self.options, self.profiles.clone(), started_at).await {
            Ok(mut outcome) => {
                outcome.report.batches_not_kept = self.spool_readings(outcome.readings)?;
                tracing::info!(
                    range = range_id,
                    cycle = cycle_name(cycle),
                    read = outcome.report.devices_read,
                    failed = outcome.report.devices_failed,
                    asleep = outcome.report.devices_asleep,
                    not_kept = outcome.report.batches_not_kept,
                    ms = outcome.report.duration_ms,
                    "cycle done"
                );
                let _ = self.reports.send(outcome.report);
            }
            Err(err) => tracing::error!(range = range_id, cycle = cycle_name(cycle), error = %err, "cycle not run"),
        }
        Ok(())
    }

    /// Records a run for the next start; on a full disk the run is only remembered in memory
    /// (a restart may then run it again: a duplicate reading, never a lost one).
    fn remember_run(&self, range_id: &str, cycle: &str, at: chrono::DateTime<Utc>) -> Result<(), SpoolError> {
        match self.lock().record_run(range_id, cycle, at.timestamp()) {
            Err(SpoolError::DiskFull) => {
                tracing::error!(range = range_id, cycle, "the disk is full: this run is not recorded");
                Ok(())
            }
            other => other,
        }
    }

    /// Reads the local printers, spools their readings, keeps what each source gave for
    /// `status`, and reports the run when the host has a print system at all.
    async fn run_local(
        &self,
        options: &crate::local::LocalOptions,
        last: &mut Option<chrono::DateTime<Utc>>,
    ) -> Result<(), SpoolError> {
        let started_at = Utc::now();
        *last = Some(started_at);
        self.lock().record_run(
            LOCAL_RANGE,
            cycle_name(cartouche_schema::wire::Cycle::Counters),
            started_at.timestamp(),
        )?;
        let clock = std::time::Instant::now();
        let outcome = crate::local::read(options).await;
        let read = u32::try_from(outcome.readings.len()).unwrap_or(u32::MAX);
        let failed: usize = outcome.sources.iter().map(|s| s.errors.len()).sum();
        let available = outcome.sources.iter().any(|s| s.unavailable.is_none());
        let said = serde_json::to_string(&outcome.sources).expect("invariant: source reports serialise");
        let before = self.lock().note(LOCAL_NOTE)?;
        if before.as_deref() != Some(said.as_str()) {
            // The note is for `status`; a full disk only leaves it stale.
            for source in &outcome.sources {
                match &source.unavailable {
                    Some(why) => tracing::info!(source = %source.source, %why, "local printers: source not available"),
                    None => {
                        tracing::info!(source = %source.source, printers = source.printers, skipped = ?source.skipped, "local printers: source read")
                    }
                }
            }
            if let Err(err) = self.lock().set_note(LOCAL_NOTE, &said) {
                tracing::warn!(error = %err, "could not keep the local printers' report for status");
            }
        }
        let not_kept = self.spool_readings(outcome.readings)?;
        if available {
            let _ = self.reports.send(CycleReport {
                cycle: cartouche_schema::wire::Cycle::Counters,
                range_id: Some(LOCAL_RANGE.to_owned()),
                started_at,
                duration_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
                devices_read: read,
                devices_failed: u32::try_from(failed).unwrap_or(u32::MAX),
                devices_asleep: 0,
                batches_not_kept: not_kept,
            });
        }
        Ok(())
    }

    /// Puts readings in the spool, `batch_size` at a time, and returns how many batches the
    /// spool did not keep: refused when full (RefuseNew, a full disk), or older ones dropped
    /// to make room (DropOldest). Each loss is logged, counted in the spool for `status`, and
    /// reported with the cycle; other errors stop the service.
    fn spool_readings(&self, readings: Vec<RawReading>) -> Result<u32, SpoolError> {
        let mut not_kept: u64 = 0;
        for chunk in readings.chunks(self.batch_size.max(1)) {
            let payload = serde_json::to_vec(chunk).expect("invariant: readings serialise");
            let pushed = self.lock().push(&payload);
            match pushed {
                Ok(pushed) => {
                    not_kept += pushed.dropped;
                    self.pushed.notify_one();
                }
                Err(err @ (SpoolError::Full { .. } | SpoolError::TooLarge(_) | SpoolError::DiskFull)) => {
                    not_kept += 1;
                    tracing::error!(error = %err, readings = chunk.len(), "readings not kept");
                    // On a full disk even the count may not be written; the log has it.
                    if let Err(count_err) = self.lock().count_refused(1) {
                        tracing::warn!(error = %count_err, "could not count the refused batch");
                    }
                }
                Err(err) => return Err(err),
            }
        }
        Ok(u32::try_from(not_kept).unwrap_or(u32::MAX))
    }
}

/// The whole agent: the link and the cycles side by side, until `shutdown` resolves or the
/// server refuses the agent (`LinkError::Refused`, returned as the error). The link's state
/// is written to the spool database as it changes, for `status`.
pub async fn run_agent(
    enrollment: Enrollment,
    profiles: Arc<ProfileSet>,
    spool: Spool,
    options: CycleOptions,
    link_options: LinkOptions,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    use anyhow::Context as _;

    // The last configuration received keeps the cycles going while the server is away,
    // across restarts.
    let stored = match spool.load_config()? {
        Some((json, at)) => match serde_json::from_slice::<AgentConfig>(&json) {
            Ok(config) => {
                let since = chrono::DateTime::from_timestamp(at, 0).unwrap_or_default();
                tracing::info!(ranges = config.ranges.len(), received_at = %since, "using the last configuration received");
                Some(config)
            }
            Err(err) => {
                tracing::warn!(error = %err, "the stored configuration is unreadable; waiting for the server's");
                None
            }
        },
        None => None,
    };
    let spool = Arc::new(Mutex::new(spool));
    let pushed = Arc::new(Notify::new());
    let (config_tx, config_rx) = watch::channel(stored);
    let mut to_save = config_rx.clone();
    let save_spool = spool.clone();
    tokio::spawn(async move {
        while to_save.changed().await.is_ok() {
            let Some(config) = to_save.borrow_and_update().clone() else { continue };
            let json = serde_json::to_vec(&config).expect("invariant: a configuration serialises");
            let mut spool = save_spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Err(err) = spool.save_config(&json, Utc::now().timestamp()) {
                tracing::warn!(error = %err, "could not keep the configuration for a restart");
            }
        }
    });
    let (connected, mut link_state) = watch::channel(false);
    let (run_now_tx, run_now_rx) = mpsc::unbounded_channel();
    let (reports_tx, reports_rx) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let handles =
        LinkHandles { spool: spool.clone(), pushed: pushed.clone(), config: config_tx, connected, run_now: run_now_tx };
    let state_spool = spool.clone();
    let final_spool = spool.clone();
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let up = *link_state.borrow_and_update();
            if last != Some(up) {
                let mut spool = state_spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Err(err) = spool.record_link(up, Utc::now().timestamp()) {
                    tracing::warn!(error = %err, "could not record the link state");
                }
                last = Some(up);
            }
            if link_state.changed().await.is_err() {
                return;
            }
        }
    });
    let driver = Driver { spool, pushed, reports: reports_tx, profiles, options, batch_size: 50 };
    tracing::info!(agent = %enrollment.agent_id, server = %enrollment.server, "agent starting");
    let link_stop = stop_rx.clone();
    // What this host could read last time it looked (the first local read tells the next
    // connection).
    let capabilities: Vec<String> = {
        let spool = final_spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let sources: Vec<crate::local::SourceReport> =
            spool.note(LOCAL_NOTE)?.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default();
        sources.into_iter().filter(|s| s.unavailable.is_none()).map(|s| s.source).collect()
    };
    let link_task = tokio::spawn(async move {
        link::run(&enrollment, capabilities, handles, reports_rx, link_options, link_stop).await
    });
    // The driver also ends when the link ends (the configuration channel closes with it).
    tokio::select! {
        outcome = driver.drive(config_rx, run_now_rx, stop_rx) => outcome.context("the spool failed")?,
        () = shutdown => {}
    }
    stop.send_replace(true);
    // Only a refusal ends the link by itself: revoked or unknown, retrying is pointless.
    let refused = match tokio::time::timeout(Duration::from_secs(5), link_task).await {
        Ok(Ok(Err(err))) => Some(err),
        _ => None,
    };
    // A stopped agent has no link, whatever the last change recorded.
    final_spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).record_link(false, Utc::now().timestamp())?;
    match refused {
        Some(err) => Err(err.into()),
        None => Ok(()),
    }
}
