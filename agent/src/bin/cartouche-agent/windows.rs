//! The agent as a Windows service: `service install` registers it with the Service Control
//! Manager (automatic start, restarted after a failure), `service uninstall` removes it, and
//! the SCM starts `service run`, which runs the agent until the SCM asks it to stop. Logs go
//! to `agent.log` beside the enrollment (a service has no console).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept, ServiceErrorControl,
    ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod, ServiceInfo, ServiceStartType, ServiceState,
    ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

use crate::site::{self, RunArgs};

const NAME: &str = "CartoucheAgent";
const DISPLAY_NAME: &str = "Cartouche agent";
const DESCRIPTION: &str =
    "Finds and reads the printers of this network for Cartouche, and keeps readings until the server has them.";

#[derive(Subcommand)]
pub enum ServiceCommand {
    /// Register the agent as a Windows service (automatic start) and start it. Enroll first.
    Install(InstallArgs),
    /// Stop the service and remove it (the enrollment and the spool stay).
    Uninstall,
    /// What the Service Control Manager starts; not for a console.
    #[command(hide = true)]
    Run(RunArgs),
}

#[derive(Args)]
pub struct InstallArgs {
    /// The enrollment saved by `enroll`.
    #[arg(long, value_name = "FILE", default_value = site::DEFAULT_ENROLLMENT)]
    pub config: PathBuf,
    /// Register without starting it now.
    #[arg(long)]
    pub no_start: bool,
}

/// The arguments of `service run`, for the service's thread.
static RUN_ARGS: Mutex<Option<RunArgs>> = Mutex::new(None);

define_windows_service!(ffi_service_main, service_main);

/// `service run`: hands the process to the Service Control Manager; returns when it stops.
pub fn dispatch(args: RunArgs) -> anyhow::Result<()> {
    init_file_log(&args.config)?;
    *RUN_ARGS.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(args);
    service_dispatcher::start(NAME, ffi_service_main)
        .context("not started by the Service Control Manager (use `cartouche-agent run` in a console)")
}

fn init_file_log(config: &Path) -> anyhow::Result<()> {
    let path = config.with_file_name("agent.log");
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening the log {}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("CARTOUCHE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(Mutex::new(file)).init();
    Ok(())
}

fn service_main(_arguments: Vec<OsString>) {
    if let Err(err) = run_service() {
        tracing::error!(error = format!("{err:#}"), "the service stopped on an error");
    }
}

fn status(state: ServiceState, exit: u32) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: if state == ServiceState::Running {
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
        } else {
            ServiceControlAccept::empty()
        },
        exit_code: ServiceExitCode::Win32(exit),
        checkpoint: 0,
        wait_hint: Duration::from_secs(20),
        process_id: None,
    }
}

fn run_service() -> anyhow::Result<()> {
    let args = RUN_ARGS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take().context("no arguments")?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stop = Mutex::new(Some(stop));
    let handle = service_control_handler::register(NAME, move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            if let Some(stop) = stop.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
                let _ = stop.send(());
            }
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    })?;
    handle.set_service_status(status(ServiceState::Running, 0))?;
    tracing::info!("service started");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let outcome = runtime.block_on(site::run_until(args, async {
        let _ = stopped.await;
        tracing::info!("the Service Control Manager asked to stop");
    }));
    // ERROR_SERVICE_SPECIFIC_ERROR-style exit: 1 tells the SCM to apply the failure actions.
    let exit = u32::from(outcome.is_err());
    if let Err(err) = &outcome {
        tracing::error!(error = format!("{err:#}"), "the agent stopped");
    }
    handle.set_service_status(status(ServiceState::Stopped, exit))?;
    outcome
}

/// `service install`: registers the service to start automatically (as LocalSystem, which
/// may read the enrollment once its folder is closed to other users), restarted 10 s after a
/// failure, and starts it.
pub fn install(args: InstallArgs) -> anyhow::Result<()> {
    let config = std::path::absolute(&args.config).unwrap_or(args.config);
    if !config.exists() {
        anyhow::bail!("{} does not exist: run `cartouche-agent enroll` first", config.display());
    }
    restrict_folder(config.parent().context("the enrollment has no folder")?)?;
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .context("opening the Service Control Manager (run this as an administrator)")?;
    let info = ServiceInfo {
        name: OsString::from(NAME),
        display_name: OsString::from(DISPLAY_NAME),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: std::env::current_exe()?,
        launch_arguments: vec!["service".into(), "run".into(), "--config".into(), config.clone().into_os_string()],
        dependencies: vec![],
        account_name: None,
        account_password: None,
    };
    let service = manager
        .create_service(&info, ServiceAccess::CHANGE_CONFIG | ServiceAccess::START)
        .with_context(|| format!("creating the service {NAME}"))?;
    service.set_description(DESCRIPTION)?;
    service.update_failure_actions(ServiceFailureActions {
        reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(24 * 3600)),
        reboot_msg: None,
        command: None,
        actions: Some(vec![
            ServiceAction { action_type: ServiceActionType::Restart, delay: Duration::from_secs(10) },
            ServiceAction { action_type: ServiceActionType::Restart, delay: Duration::from_secs(60) },
            ServiceAction { action_type: ServiceActionType::Restart, delay: Duration::from_secs(300) },
        ]),
    })?;
    // An agent that stops on an error (not only a crash) is restarted too; older systems
    // (and Wine) do not know this setting, which is no reason to give up the install.
    if let Err(err) = service.set_failure_actions_on_non_crash_failures(true) {
        eprintln!("note: the service restarts after crashes only (this system refused the setting for errors: {err})");
    }
    if args.no_start {
        eprintln!("service {NAME} installed; start it with: sc start {NAME}");
    } else {
        service.start::<&str>(&[]).with_context(|| format!("starting the service {NAME}"))?;
        eprintln!("service {NAME} installed and started; logs in {}", config.with_file_name("agent.log").display());
    }
    Ok(())
}

/// `service uninstall`: stops the service if it runs and deletes it.
pub fn uninstall() -> anyhow::Result<()> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .context("opening the Service Control Manager (run this as an administrator)")?;
    let service = manager
        .open_service(NAME, ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE)
        .with_context(|| format!("the service {NAME} is not installed"))?;
    if service.query_status()?.current_state != ServiceState::Stopped {
        service.stop()?;
        for _ in 0..60 {
            if service.query_status()?.current_state == ServiceState::Stopped {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    service.delete()?;
    eprintln!("service {NAME} removed");
    Ok(())
}

/// The enrollment's folder is readable by the service (SYSTEM) and administrators only: it
/// holds the agent's credential and, in the spool, the last SNMP credentials.
fn restrict_folder(folder: &Path) -> anyhow::Result<()> {
    let status = std::process::Command::new("icacls")
        .arg(folder)
        .args(["/inheritance:r", "/grant:r", "*S-1-5-18:(OI)(CI)F", "*S-1-5-32-544:(OI)(CI)F"])
        .stdout(std::process::Stdio::null())
        .status()
        .context("running icacls")?;
    anyhow::ensure!(status.success(), "icacls could not restrict {} ({status})", folder.display());
    Ok(())
}
