//! An emulator of Microsoft Graph (and of the identity platform's token
//! endpoint) on loopback. It behaves like Graph: paths, JSON shapes,
//! `@odata.nextLink` paging, `$select`/`$filter`/`$top`, error bodies,
//! `$batch`, delta, licences and seats, Teams, throttling with
//! `Retry-After`, replication lag and seeded faults. State lives in memory,
//! seeded from a snapshot's `m365/` folder and writable back to one.
//! It never listens on anything but loopback.

mod auth;
mod batch;
mod debug;
mod delta;
mod directory;
mod expand;
mod faults;
mod filter;
mod groups;
mod guests;
mod lag;
mod licenses;
mod listing;
mod members;
mod odata;
mod options;
mod risky;
mod router;
mod search;
mod server;
mod shared;
mod state;
mod team_ops;
mod teams;
mod throttle;
mod users;
mod wire;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use options::{
    ALL_ROLES, AppRegistration, CertificateCredential, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID, FaultKind, FaultOptions, GraphOptions, InjectedFault, LagOptions,
    ThrottleOptions,
};
pub use router::ROUTES;

use shared::Shared;

/// A running Graph emulator on `127.0.0.1:<port>`.
pub struct GraphEmulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl GraphEmulator {
    /// Starts an emulator on an ephemeral loopback port.
    pub async fn start(opts: GraphOptions) -> Result<Self, String> {
        Self::start_on(opts, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts an emulator on `addr`, which must be a loopback address.
    pub async fn start_on(opts: GraphOptions, addr: SocketAddr) -> Result<Self, String> {
        if !addr.ip().is_loopback() {
            return Err(format!(
                "refusing to listen on {addr}: the Graph emulator only listens on loopback (127.0.0.1 or [::1])"
            ));
        }
        let shared = Arc::new(Shared::new(opts)?);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the listening address: {e}"))?;
        shared.set_base_url(format!("http://{addr}"));
        let (shutdown, watch) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, shared.clone(), watch));
        Ok(Self {
            shared,
            addr,
            shutdown,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`: serves both the token endpoint
    /// (`/{tenant}/oauth2/v2.0/token`) and Graph (`/v1.0/...`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests seen, per `METHOD /normalised/path` (ids shown as `{id}`;
    /// `$batch` items counted under their own paths), plus `total`,
    /// `batch items`, `status NNN` and `fault …` counters.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.shared
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every write Graph carried out (2xx), in order, as `METHOD /path`
    /// (`$batch` items under their own paths, ids as sent): what a test
    /// counts to prove an action ran exactly once.
    pub fn writes(&self) -> Vec<String> {
        self.shared
            .writes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Writes the current state under `dir/m365/` in the snapshot layout.
    pub fn write_snapshot(&self, dir: &Path) -> std::io::Result<()> {
        self.shared.dir().write_snapshot(dir)
    }

    /// Invalidates every access token issued so far (clients get 401 and must re-acquire).
    pub fn revoke_tokens(&self) {
        self.shared.token_epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Invalidates every delta token (the next delta call gets 410 Gone).
    pub fn expire_delta_tokens(&self) {
        self.shared
            .delta
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .epoch += 1;
    }

    /// Queues a scripted fault for the next matching requests.
    pub fn inject(&self, fault: InjectedFault) {
        self.shared
            .injected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(fault);
    }

    /// Makes `manager` the manager of `user` (both object ids), as
    /// `PUT /users/{user}/manager/$ref` would; returns whether both exist.
    pub fn set_manager(&self, user: &str, manager: &str) -> bool {
        let mut dir = self.shared.dir();
        let known = dir.users.contains_key(user) && dir.users.contains_key(manager);
        if known {
            dir.managers.insert(user.to_owned(), manager.to_owned());
        }
        known
    }

    /// Flags `user` (an object id) as at risk, as an Identity Protection
    /// detection would (`riskState: atRisk`, the given `riskLevel`: `low`,
    /// `medium` or `high`), without spending the riskyUsers call budget;
    /// returns whether the user exists.
    pub fn flag_risky(&self, user: &str, level: &'static str) -> bool {
        let dir = self.shared.dir();
        let Some(found) = dir.users.get(user).cloned() else {
            return false;
        };
        drop(dir);
        self.shared
            .risky
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(
                user,
                &found,
                risky::Risk {
                    level,
                    state: "atRisk",
                    detail: "none",
                },
            );
        true
    }

    /// Redeems a guest's invitation (`externalUserState` becomes `Accepted`);
    /// false if `user_id` is not a pending guest.
    pub fn redeem_invitation(&self, user_id: &str) -> bool {
        guests::redeem(&mut self.shared.dir(), user_id)
    }

    /// The whole directory as JSON (what `GET /_emulator/state` returns).
    pub fn state(&self) -> serde_json::Value {
        debug::state(&self.shared)
    }

    /// Stops serving and drops every open connection.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for GraphEmulator {
    /// An emulator dropped without `stop` stops listening too (without waiting).
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Command-line options of `okta365 emulate graph`.
#[derive(Debug, Clone, clap::Args)]
pub struct CliArgs {
    /// A snapshot folder to seed the emulator from (its `m365/` folder is read).
    #[arg(long)]
    pub snapshot: PathBuf,
    /// Where to listen; loopback addresses only.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The tenant id accepted by the token endpoint.
    #[arg(long, default_value = DEFAULT_TENANT_ID)]
    pub tenant_id: String,
    /// The registered app's client id.
    #[arg(long, default_value = DEFAULT_CLIENT_ID)]
    pub client_id: String,
    /// The registered app's client secret.
    #[arg(long, env = "OKTA365_GRAPH_EMULATOR_CLIENT_SECRET", default_value = DEFAULT_CLIENT_SECRET, hide_default_value = true, hide_env_values = true)]
    pub client_secret: String,
    /// A PEM public key for client-assertion JWTs (with --cert-thumbprint and/or --cert-thumbprint-sha256).
    #[arg(long)]
    pub cert_public_key: Option<PathBuf>,
    /// base64url SHA-1 certificate thumbprint (`x5t`).
    #[arg(long)]
    pub cert_thumbprint: Option<String>,
    /// base64url SHA-256 certificate thumbprint (`x5t#S256`).
    #[arg(long)]
    pub cert_thumbprint_sha256: Option<String>,
    /// Granted application permissions, comma-separated (default: all the emulator knows).
    #[arg(long, value_delimiter = ',')]
    pub roles: Vec<String>,
    /// Resource units per throttle window.
    #[arg(long, default_value_t = ThrottleOptions::default().resource_units)]
    pub throttle_units: u32,
    /// The throttle window, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub throttle_window_secs: f64,
    /// Writes per write window.
    #[arg(long, default_value_t = ThrottleOptions::default().writes)]
    pub throttle_writes: u32,
    /// The write window, in seconds.
    #[arg(long, default_value_t = 150.0)]
    pub throttle_write_window_secs: f64,
    /// Member adds per team per minute (Graph: 4); unlimited when absent.
    #[arg(long)]
    pub team_member_adds_per_minute: Option<u32>,
    /// Milliseconds a created user or group stays invisible.
    #[arg(long, default_value_t = 0)]
    pub lag_new_object_ms: u64,
    /// Milliseconds after group creation during which `PUT /groups/{id}/team` 404s.
    #[arg(long, default_value_t = 0)]
    pub lag_team_ms: u64,
    /// Milliseconds after a PATCH during which reads return the previous version.
    #[arg(long, default_value_t = 0)]
    pub lag_stale_reads_ms: u64,
    /// Milliseconds a `POST /teams` operation stays inProgress.
    #[arg(long, default_value_t = 0)]
    pub team_provisioning_ms: u64,
    /// Milliseconds after group creation during which member adds get the "source resource object" 400.
    #[arg(long, default_value_t = 0)]
    pub lag_members_ms: u64,
    /// Share of Graph requests answered 503/504.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Share of Graph requests held past a client timeout.
    #[arg(long, default_value_t = 0.0)]
    pub timeout_rate: f64,
    /// How long a held request is held, in seconds.
    #[arg(long, default_value_t = 120.0)]
    pub timeout_hold_secs: f64,
    /// Share of Graph requests whose connection is reset.
    #[arg(long, default_value_t = 0.0)]
    pub reset_rate: f64,
    /// Share of `$batch` items that fail inside the batch.
    #[arg(long, default_value_t = 0.0)]
    pub batch_item_failure_rate: f64,
    /// Seeds faults, ids and batch response order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl CliArgs {
    /// The options these arguments describe.
    pub fn options(&self) -> Result<GraphOptions, String> {
        let certificate = match &self.cert_public_key {
            Some(path) => Some(CertificateCredential {
                public_key_pem: std::fs::read_to_string(path).map_err(|e| {
                    format!("cannot read --cert-public-key {}: {e}", path.display())
                })?,
                thumbprint_sha1: self.cert_thumbprint.clone(),
                thumbprint_sha256: self.cert_thumbprint_sha256.clone(),
            }),
            None => None,
        };
        let roles = if self.roles.is_empty() {
            ALL_ROLES.iter().map(|r| (*r).to_owned()).collect()
        } else {
            self.roles.iter().map(|r| r.trim().to_owned()).collect()
        };
        let secs = |s: f64, flag: &str| {
            Duration::try_from_secs_f64(s)
                .map_err(|_| format!("--{flag} must be a non-negative number of seconds"))
        };
        for (rate, flag) in [
            (self.fault_rate, "fault-rate"),
            (self.timeout_rate, "timeout-rate"),
            (self.reset_rate, "reset-rate"),
            (self.batch_item_failure_rate, "batch-item-failure-rate"),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("--{flag} must be between 0 and 1, got {rate}"));
            }
        }
        Ok(GraphOptions {
            snapshot: Some(self.snapshot.clone()),
            tenant_id: self.tenant_id.clone(),
            apps: vec![AppRegistration {
                client_id: self.client_id.clone(),
                client_secret: Some(self.client_secret.clone()),
                certificate,
                roles,
            }],
            throttle: ThrottleOptions {
                resource_units: self.throttle_units,
                window: secs(self.throttle_window_secs, "throttle-window-secs")?,
                writes: self.throttle_writes,
                write_window: secs(
                    self.throttle_write_window_secs,
                    "throttle-write-window-secs",
                )?,
                team_member_adds_per_minute: self.team_member_adds_per_minute,
            },
            lag: LagOptions {
                new_object: Duration::from_millis(self.lag_new_object_ms),
                team_after_group: Duration::from_millis(self.lag_team_ms),
                team_provisioning: Duration::from_millis(self.team_provisioning_ms),
                stale_reads: Duration::from_millis(self.lag_stale_reads_ms),
                members_after_group: Duration::from_millis(self.lag_members_ms),
            },
            faults: FaultOptions {
                server_error_rate: self.fault_rate,
                timeout_rate: self.timeout_rate,
                timeout_hold: secs(self.timeout_hold_secs, "timeout-hold-secs")?,
                reset_rate: self.reset_rate,
                batch_item_failure_rate: self.batch_item_failure_rate,
                injected: Vec::new(),
            },
            seed: self.seed,
            ..GraphOptions::default()
        })
    }
}

/// Serves until interrupted, printing `listening on http://ADDR` first.
pub async fn run(args: CliArgs) -> Result<(), String> {
    let opts = args.options()?;
    let emulator = GraphEmulator::start_on(opts, args.listen).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", emulator.url())
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write to stdout: {e}"))?;
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    emulator.stop().await;
    Ok(())
}
