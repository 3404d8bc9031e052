//! The running service: the HTTP endpoint (plain or TLS), the worker, the
//! System Log poller and the planner, started together and stopped in
//! order: stop taking deliveries, let the worker finish the batch in hand
//! (in-flight actions complete and are journaled), wait for an applying
//! plan to end, then exit. Whatever is journaled and not done is resumed by
//! the next start.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::http::{HookState, router};
use super::worker::{self, Context};
use crate::cli::terminal::Ui;
use crate::secret::Secret;

/// Runs until `shutdown` resolves (a signal), then stops gracefully.
pub async fn run(
    ctx: Arc<Context>,
    listener: TcpListener,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    secret: Secret,
    ui: Arc<Ui>,
    poll: bool,
    shutdown: impl std::future::Future<Output = ()>,
) {
    // The journal is open and the listener bound: deliveries can be taken
    // from the first request on (the first stdout line has been printed).
    let ready = Arc::new(AtomicBool::new(true));
    let (stop_tx, stop) = watch::channel(false);
    let app = router(HookState {
        ctx: Arc::clone(&ctx),
        secret: Arc::new(secret),
        ready: Arc::clone(&ready),
    });
    // The worker and the planner run on this task (the executor's future
    // is not `Send`); the endpoint and the poller on their own.
    let worker = work(Arc::clone(&ctx), stop.clone());
    let planner = super::reconcile::run(&ctx, &ui, stop.clone());
    let poller = poll.then(|| {
        let (ctx, stop) = (Arc::clone(&ctx), stop.clone());
        tokio::spawn(async move { super::poller::run(&ctx, stop).await })
    });
    let server = {
        let stop = stop.clone();
        match tls {
            None => tokio::spawn(async move {
                let mut stop = stop;
                let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                });
                if let Err(e) = serving.await {
                    tracing::error!(error = %e, "the HTTP server stopped");
                }
            }),
            Some(config) => tokio::spawn(serve_tls(listener, app, config, stop)),
        }
    };
    let control = async {
        tracing::info!("okta365 serve is ready");
        shutdown.await;
        tracing::info!("stopping: no new deliveries; finishing the actions in flight");
        ready.store(false, Ordering::SeqCst);
        let _ = stop_tx.send(true);
        let _ = server.await;
        if let Some(poller) = poller {
            let _ = poller.await;
        }
    };
    // The worker ends after the batch in hand; the planner after a plan
    // being applied (a stop never cuts an apply short).
    tokio::join!(worker, planner, control);
    tracing::info!("okta365 serve stopped");
}

/// The worker loop: passes until nothing is due, then waits for new
/// events, a due retry, or a released breaker (checked every second).
async fn work(ctx: Arc<Context>, mut stop: watch::Receiver<bool>) {
    let mut pruned_at: Option<tokio::time::Instant> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        if pruned_at.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            prune(&ctx).await;
            pruned_at = Some(tokio::time::Instant::now());
        }
        match worker::pass(&ctx).await {
            Ok(pass) if pass.taken > 0 => continue,
            Ok(_) => {}
            Err(failure) => {
                let why = match failure {
                    crate::cli::Failure::Message(m) => m,
                    crate::cli::Failure::Diagnostics(d) => format!("{} diagnostics", d.len()),
                };
                tracing::error!(error = %why, "the event worker failed; retrying in a second");
            }
        }
        tokio::select! {
            _ = ctx.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// How often finished events past `events.journal.keep_days` are forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Forgets finished events older than `keep_days`, and breaker admissions
/// older than the breaker's window.
async fn prune(ctx: &Context) {
    let now = worker::now_ms();
    let before = now - i64::from(ctx.rules.journal.keep_days) * 86_400_000;
    let window = now - (ctx.rules.lockdown.breaker.window_minutes as i64) * 60_000;
    match ctx.journal.call(move |j| j.prune(before, window)).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            events = n,
            "forgot finished events past events.journal.keep_days"
        ),
        Err(e) => tracing::warn!(error = %e, "could not prune the event journal"),
    }
}

/// Serves HTTPS: TLS handshakes on each accepted connection, HTTP/1.1 inside.
async fn serve_tls(
    listener: TcpListener,
    app: axum::Router,
    config: Arc<tokio_rustls::rustls::ServerConfig>,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let (acceptor, app) = (acceptor.clone(), app.clone());
                connections.spawn(async move {
                    let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await else {
                        return;
                    };
                    let service = TowerToHyperService::new(app);
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .http1_only()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    // Requests in flight finish (bounded by the stop grace).
    while connections.join_next().await.is_some() {}
}
