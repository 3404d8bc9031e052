//! `okta365 serve`: event mode as a long-running service, one process per
//! tenant. It prints `listening on http://ADDR` (or `https://`) first, then
//! receives Okta event hooks on `/hooks/okta`, polls the System Log as a
//! backstop, journals every event once and acts on it (see `docs/events.md`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::terminal::Ui;
use crate::cli::{Cli, ColorChoice, ErrorFormat, Failure};
use crate::secret::Secret;

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to listen, e.g. `127.0.0.1:8080` behind a reverse proxy, or
    /// `0.0.0.0:8443` with `events.hook.tls`.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The event journal (default: `events.journal.path`).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Do not poll the System Log (event hooks only).
    #[arg(long)]
    pub no_poll: bool,
}

/// Runs `serve` until SIGINT or SIGTERM.
pub async fn run(cli: &Cli, args: &Args, ui: &Ui) -> Result<ExitCode, Failure> {
    let ctx = super::watch::context(cli, ui, args.journal.as_ref())?;
    let hook = &ctx.rules.hook;
    let secret = Secret::from_env(&hook.secret_env).map_err(|_| {
        Failure::Message(format!(
            "the event hook secret is not set: export {} with the Authorization value configured on the Okta event hook\n  hint: the variable's name is `events.hook.secret_env` in the config",
            hook.secret_env
        ))
    })?;
    let tls = match &hook.tls {
        Some(files) => Some(crate::serve::tls::server_config(files).map_err(Failure::Message)?),
        None => None,
    };
    let stop = stop_signal()?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure::Message(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {scheme}://{addr}")?;
        out.flush()?;
    }
    tracing::info!(%addr, scheme, journal = %ctx.journal.path().display(), "okta365 serve started");
    // The planner reports through a plain UI: no colour in a service's output.
    let plain = Arc::new(Ui::new(
        ColorChoice::Never,
        ErrorFormat::Human,
        cli.log_format,
    ));
    crate::serve::service::run(
        Arc::new(ctx),
        listener,
        tls,
        secret,
        plain,
        !args.no_poll,
        stop,
    )
    .await;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM (what systemd and Kubernetes send). The
/// handlers are installed when this is called, before the first line is
/// printed, so a stop sent right after it is never missed.
fn stop_signal() -> Result<impl std::future::Future<Output = ()>, Failure> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind| {
            signal(kind).map_err(|e| Failure::Message(format!("cannot handle signals: {e}")))
        };
        let (mut term, mut int) = (
            install(SignalKind::terminate())?,
            install(SignalKind::interrupt())?,
        );
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
