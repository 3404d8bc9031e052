//! `okta365 emulate okta`: the emulator as a process, with its knobs as
//! flags. It prints `listening on http://127.0.0.1:PORT` first and serves
//! until Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::OktaEmulator;
use super::options::{
    Bucket, EventHook, Fault, Faults, OktaOptions, PageFault, PublicKey, RateLimits, ScriptedFault,
    ServiceApp,
};

/// Command-line options of `okta365 emulate okta`.
#[derive(Clone, clap::Args)]
pub struct CliArgs {
    /// A snapshot folder to seed the emulator from (its `okta/` folder).
    #[arg(long)]
    pub snapshot: PathBuf,
    /// Where to listen; loopback addresses only.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Authentication, throttling, fault and hook knobs (boxed: they are many).
    #[command(flatten)]
    pub knobs: Box<Knobs>,
}

/// The emulator's knobs on the command line.
#[derive(Clone, clap::Args)]
pub struct Knobs {
    /// An API token accepted as `Authorization: SSWS <token>` (repeatable).
    #[arg(
        long = "token",
        env = "OKTA365_EMULATOR_OKTA_TOKEN",
        hide_env_values = true,
        default_value = "emulator-okta-token"
    )]
    pub tokens: Vec<String>,
    /// Register an OAuth service app with this client id.
    #[arg(long, requires = "oauth_public_key")]
    pub oauth_client_id: Option<String>,
    /// The app's public key: a PEM file, or a JSON file holding a JWK.
    #[arg(long)]
    pub oauth_public_key: Option<PathBuf>,
    /// Scopes granted to the app, space-separated.
    #[arg(
        long,
        default_value = "okta.users.read okta.groups.read okta.logs.read"
    )]
    pub oauth_scopes: String,
    /// Do not require DPoP proofs on the app's token requests.
    #[arg(long)]
    pub oauth_no_dpop: bool,
    /// A bucket's requests per window, as `BUCKET=N`, e.g. `/api/v1/logs=60` (repeatable).
    #[arg(long = "rate-limit", value_parser = parse_rate_limit)]
    pub rate_limits: Vec<(Bucket, u32)>,
    /// The rate-limit window in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub rate_limit_window: f64,
    /// Seconds before user changes show in `search`, `filter` and `q` results.
    #[arg(long, default_value_t = 0.0)]
    pub search_lag: f64,
    /// A full last page still links to an empty next page.
    #[arg(long)]
    pub full_page_next: bool,
    /// Requests answered at once before a concurrency 429.
    #[arg(long, default_value_t = 75)]
    pub concurrency: u32,
    /// Share of API requests answered 500 or 503 (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Share of API requests that hang for `--timeout-secs`.
    #[arg(long, default_value_t = 0.0)]
    pub timeout_rate: f64,
    /// How long a timed-out request hangs, in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub timeout_secs: f64,
    /// Share of API requests whose connection is reset.
    #[arg(long, default_value_t = 0.0)]
    pub reset_rate: f64,
    /// Fail one request, as `PATH#N=FAULT` (FAULT: a status, `timeout`, `reset`, or `empty`: an empty page), e.g. `/api/v1/users#3=500`.
    #[arg(long = "fail", value_parser = parse_scripted)]
    pub scripted: Vec<ScriptedFault>,
    /// Fail a page of a traversal, as `PATH@PAGE=FAULT` (once), `…=FAULT*N`
    /// (N times) or `…=FAULT*all`, e.g. `/api/v1/users@3=500*2`.
    #[arg(long = "fail-page", value_parser = parse_page_fault)]
    pub pages: Vec<PageFault>,
    /// Deliver System Log events to this loopback URL as an event hook (repeatable).
    #[arg(long = "event-hook")]
    pub event_hooks: Vec<String>,
    /// The `Authorization` value sent to event hooks.
    #[arg(
        long,
        env = "OKTA365_EMULATOR_HOOK_SECRET",
        hide_env_values = true,
        default_value = "emulator-hook-secret"
    )]
    pub event_hook_secret: String,
    /// The event types hooks subscribe to, space-separated.
    #[arg(long, default_value = DEFAULT_HOOK_TYPES)]
    pub event_hook_types: String,
    /// Share of hook deliveries sent twice.
    #[arg(long, default_value_t = 0.0)]
    pub hook_duplicate_rate: f64,
    /// Deliver each hook batch's events newest first.
    #[arg(long)]
    pub hook_reorder: bool,
    /// Seed of every random choice (ids, tokens, faults).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// The hook-eligible user and group events the reconciler reacts to.
const DEFAULT_HOOK_TYPES: &str = "user.lifecycle.create user.lifecycle.activate user.lifecycle.deactivate \
user.lifecycle.reactivate user.lifecycle.suspend user.lifecycle.unsuspend user.account.update_profile \
group.user_membership.add group.user_membership.remove";

impl std::fmt::Debug for CliArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CliArgs")
            .field("snapshot", &self.snapshot)
            .field("listen", &self.listen)
            .field("knobs", &self.knobs)
            .finish()
    }
}

impl std::fmt::Debug for Knobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Knobs")
            .field("tokens", &format_args!("[{} redacted]", self.tokens.len()))
            .field("oauth_client_id", &self.oauth_client_id)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

fn parse_rate_limit(text: &str) -> Result<(Bucket, u32), String> {
    let (bucket, n) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("`{text}`: expected BUCKET=N"))?;
    let bucket = Bucket::from_name(bucket).ok_or_else(|| {
        let names: Vec<_> = Bucket::ALL.iter().map(|b| b.name()).collect();
        format!("unknown bucket `{bucket}`: use one of {}", names.join(", "))
    })?;
    let n = n
        .parse()
        .map_err(|_| format!("`{n}` is not a number of requests"))?;
    Ok((bucket, n))
}

fn parse_fault(text: &str) -> Result<Fault, String> {
    Ok(match text {
        "timeout" => Fault::Timeout,
        "reset" => Fault::Reset,
        "empty" => Fault::EmptyPage,
        status => {
            Fault::Status(status.parse().map_err(|_| {
                format!("`{status}` is not a status, `timeout`, `reset` or `empty`")
            })?)
        }
    })
}

fn parse_page_fault(text: &str) -> Result<PageFault, String> {
    let shape =
        || format!("`{text}`: expected PATH@PAGE=FAULT, PATH@PAGE=FAULT*N or PATH@PAGE=FAULT*all");
    let (target, fault) = text.rsplit_once('=').ok_or_else(shape)?;
    let (path, page) = target.rsplit_once('@').ok_or_else(shape)?;
    let page = page
        .parse()
        .map_err(|_| format!("`{page}` is not a page number"))?;
    let (fault, times) = match fault.split_once('*') {
        None => (fault, Some(1)),
        Some((fault, "all")) => (fault, None),
        Some((fault, n)) => (
            fault,
            Some(
                n.parse()
                    .map_err(|_| format!("`{n}` is not a count or `all`"))?,
            ),
        ),
    };
    Ok(PageFault {
        path: path.to_owned(),
        page,
        fault: parse_fault(fault)?,
        times,
    })
}

fn parse_scripted(text: &str) -> Result<ScriptedFault, String> {
    let shape = || format!("`{text}`: expected PATH#N=FAULT");
    let (target, fault) = text.rsplit_once('=').ok_or_else(shape)?;
    let (path, nth) = target.rsplit_once('#').ok_or_else(shape)?;
    let nth = nth
        .parse()
        .map_err(|_| format!("`{nth}` is not a request number"))?;
    Ok(ScriptedFault {
        path: path.to_owned(),
        nth,
        fault: parse_fault(fault)?,
    })
}

fn seconds(name: &str, value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("--{name}: `{value}` is not a number of seconds"))
}

impl CliArgs {
    /// The options these flags describe.
    pub fn options(&self) -> Result<OktaOptions, String> {
        let k = &self.knobs;
        let mut service_apps = Vec::new();
        if let (Some(client_id), Some(key_file)) = (&k.oauth_client_id, &k.oauth_public_key) {
            let text = std::fs::read_to_string(key_file)
                .map_err(|e| format!("cannot read the public key {}: {e}", key_file.display()))?;
            let public_key = if text.trim_start().starts_with('{') {
                PublicKey::Jwk(
                    serde_json::from_str(&text)
                        .map_err(|e| format!("{} is not a JWK: {e}", key_file.display()))?,
                )
            } else {
                PublicKey::Pem(text)
            };
            service_apps.push(ServiceApp {
                client_id: client_id.clone(),
                public_key,
                scopes: k
                    .oauth_scopes
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                require_dpop: !k.oauth_no_dpop,
            });
        }
        Ok(OktaOptions {
            snapshot: Some(self.snapshot.clone()),
            api_tokens: k.tokens.clone(),
            service_apps,
            rate_limits: RateLimits {
                per_bucket: k.rate_limits.iter().copied().collect(),
                window: seconds("rate-limit-window", k.rate_limit_window)?,
            },
            concurrency: k.concurrency,
            full_page_next: k.full_page_next,
            search_lag: seconds("search-lag", k.search_lag)?,
            faults: Faults {
                error_rate: k.fault_rate,
                timeout_rate: k.timeout_rate,
                timeout: seconds("timeout-secs", k.timeout_secs)?,
                reset_rate: k.reset_rate,
                scripted: k.scripted.clone(),
                pages: k.pages.clone(),
                hook_duplicate_rate: k.hook_duplicate_rate,
                hook_reorder: k.hook_reorder,
            },
            event_hooks: k
                .event_hooks
                .iter()
                .map(|url| EventHook {
                    url: url.clone(),
                    authorization: k.event_hook_secret.clone(),
                    event_types: k
                        .event_hook_types
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                })
                .collect(),
            seed: k.seed,
            ..OktaOptions::default()
        })
    }
}

/// Serves until interrupted, printing `listening on http://ADDR` first.
pub async fn run(args: CliArgs) -> Result<(), String> {
    let emulator = OktaEmulator::start_on(args.listen, args.options()?).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", emulator.url())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;
    drop(stdout);
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    emulator.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_tokens() {
        let options = OktaOptions {
            api_tokens: vec!["sekrit-token".into()],
            ..OktaOptions::default()
        };
        let printed = format!("{options:?}");
        assert!(
            !printed.contains("sekrit-token") && printed.contains("[1 redacted]"),
            "{printed}"
        );
    }

    #[test]
    fn knobs_parse() {
        assert_eq!(parse_rate_limit("/api/v1/logs=60"), Ok((Bucket::Logs, 60)));
        assert!(
            parse_rate_limit("/api/v2/x=1")
                .unwrap_err()
                .contains("unknown bucket")
        );
        assert_eq!(
            parse_scripted("/api/v1/users#3=500"),
            Ok(ScriptedFault {
                path: "/api/v1/users".into(),
                nth: 3,
                fault: Fault::Status(500)
            })
        );
        assert_eq!(
            parse_scripted("/api/v1/logs#1=reset").unwrap().fault,
            Fault::Reset
        );
        assert!(parse_scripted("/api/v1/logs=500").is_err());
        let always = parse_page_fault("/api/v1/users@3=503*all").unwrap();
        assert_eq!(
            (always.page, always.fault, always.times),
            (3, Fault::Status(503), None)
        );
        assert_eq!(
            parse_page_fault("/api/v1/users@2=reset*4").unwrap().times,
            Some(4)
        );
        assert_eq!(
            parse_page_fault("/api/v1/users@2=timeout").unwrap().times,
            Some(1)
        );
        assert!(parse_page_fault("/api/v1/users#2=500").is_err());
    }
}
