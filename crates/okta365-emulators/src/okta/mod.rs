//! An emulator of the Okta Management API on loopback: users, groups,
//! group members and the System Log, read through SSWS tokens or OAuth 2.0
//! service-app tokens (`private_key_jwt`, DPoP), with Okta's paging, error
//! bodies, rate-limit headers and seeded faults. State lives in memory as
//! the JSON objects Okta returns; it never listens beyond loopback.

#![deny(missing_docs)]

mod app;
mod auth;
mod cli;
mod control;
mod dpop;
mod errors;
mod expr;
mod faults;
mod groups;
mod hooks;
mod logs;
mod oauth;
mod options;
mod paging;
mod ratelimit;
mod server;
mod sorting;
mod state;
pub mod testing;
mod users;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use jiff::Timestamp;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use cli::{CliArgs, run};
pub use options::{
    Bucket, EventHook, Fault, Faults, OktaOptions, PageFault, PublicKey, RateLimits, ScriptedFault,
    ServiceApp,
};
pub use server::ROUTES;

use app::{App, AppRef, lock};
use state::Org;

/// A running emulator, serving on `127.0.0.1:<port>` until stopped or dropped.
pub struct OktaEmulator {
    addr: SocketAddr,
    app: AppRef,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for OktaEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaEmulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl OktaEmulator {
    /// Starts on an ephemeral loopback port.
    pub async fn start(opts: OktaOptions) -> Result<Self, String> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), opts).await
    }

    /// Starts on `addr`, which must be a loopback address.
    pub async fn start_on(addr: SocketAddr, opts: OktaOptions) -> Result<Self, String> {
        if !addr.ip().is_loopback() {
            return Err(format!(
                "the okta emulator listens on loopback only: `{addr}` is not a loopback address (use 127.0.0.1)"
            ));
        }
        for hook in &opts.event_hooks {
            hooks::check_url(hook)?;
        }
        let org = match &opts.snapshot {
            Some(dir) => Org::load(dir, opts.seed)?,
            None => Org::empty(opts.seed),
        };
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the listening address: {e}"))?;
        let app = Arc::new(App::new(org, opts));
        let (shutdown, receiver) = watch::channel(false);
        let router = server::router(app.clone());
        let url = format!("http://{addr}");
        // Hooks get the events written from now on, however late their task starts.
        let position = app.org().logs.len();
        for index in 0..app.options.event_hooks.len() {
            let delivery =
                hooks::deliver(app.clone(), index, url.clone(), position, receiver.clone());
            tokio::spawn(delivery);
        }
        let task = tokio::spawn(server::serve(listener, router, receiver));
        Ok(Self {
            addr,
            app,
            shutdown,
            task: Some(task),
        })
    }

    /// The org URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received per endpoint, e.g. `"GET /api/v1/groups/{id}/users": 3`.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.app.counts).clone()
    }

    /// The System Log so far, in the order events were written.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.app.org().logs.clone()
    }

    /// A user as stored now (without `_links`), by id.
    pub fn user(&self, user_id: &str) -> Option<serde_json::Value> {
        self.app.org().users.get(user_id).cloned()
    }

    /// Adds a user (`profile.login` required; missing fields are filled in)
    /// and logs `user.lifecycle.create` (and `activate` when ACTIVE).
    /// Returns its id. Panics on an invalid user: tests should fail loudly.
    pub fn add_user(&self, user: serde_json::Value) -> String {
        self.app
            .org()
            .add_user(user, Timestamp::now())
            .unwrap_or_else(|e| panic!("okta emulator: cannot add user: {e}"))
    }

    /// Sets a user's status and logs the matching lifecycle event.
    pub fn set_status(&self, user_id: &str, status: &str) {
        self.app
            .org()
            .set_status(user_id, status, Timestamp::now())
            .unwrap_or_else(|e| panic!("okta emulator: cannot set status: {e}"));
    }

    /// Adds a group member and logs `group.user_membership.add`.
    pub fn add_member(&self, group_id: &str, user_id: &str) {
        self.app
            .org()
            .add_member(group_id, user_id, Timestamp::now())
            .unwrap_or_else(|e| panic!("okta emulator: cannot add member: {e}"));
    }

    /// Removes a group member and logs `group.user_membership.remove`.
    pub fn remove_member(&self, group_id: &str, user_id: &str) {
        self.app
            .org()
            .remove_member(group_id, user_id, Timestamp::now())
            .unwrap_or_else(|e| panic!("okta emulator: cannot remove member: {e}"));
    }

    /// Merges `changes` into a user's profile and logs `user.account.update_profile`.
    pub fn update_profile(&self, user_id: &str, changes: serde_json::Value) {
        self.app
            .org()
            .update_profile(user_id, changes, Timestamp::now())
            .unwrap_or_else(|e| panic!("okta emulator: cannot update profile: {e}"));
    }

    /// Stops serving and waits for the accept loop to end.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for OktaEmulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
