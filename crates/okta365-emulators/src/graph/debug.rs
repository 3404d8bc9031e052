//! The emulator's own endpoints under `/_emulator/` (no auth, not counted):
//! `GET requests` (counts), `GET state` (the directory), `GET writes`
//! (every write carried out, in order),
//! `POST tokens/revoke` (every issued access token becomes invalid),
//! `POST delta/expire` (every delta token gets 410 next time),
//! `POST invitations/{userId}/redeem` (a guest accepts their invitation).

use std::sync::atomic::Ordering;

use serde_json::json;

use super::shared::Shared;
use super::wire::ApiResponse;

/// Handles `/_emulator/...`.
pub(crate) fn handle(sh: &Shared, method: &str, path: &str) -> ApiResponse {
    match (method, path.trim_end_matches('/')) {
        ("GET", "/_emulator/requests") => {
            let counts = sh.counts.lock().unwrap_or_else(|p| p.into_inner()).clone();
            ApiResponse::json(200, json!(counts))
        }
        ("GET", "/_emulator/state") => ApiResponse::json(200, state(sh)),
        ("GET", "/_emulator/writes") => {
            let writes = sh.writes.lock().unwrap_or_else(|p| p.into_inner()).clone();
            ApiResponse::json(200, json!(writes))
        }
        ("POST", "/_emulator/tokens/revoke") => {
            sh.token_epoch.fetch_add(1, Ordering::SeqCst);
            ApiResponse::empty(204)
        }
        ("POST", "/_emulator/delta/expire") => {
            sh.delta.lock().unwrap_or_else(|p| p.into_inner()).epoch += 1;
            ApiResponse::empty(204)
        }
        _ => ApiResponse::error(
            404,
            "NotFound",
            format!("no emulator endpoint {method} {path}"),
        ),
    }
}

/// The whole directory as JSON (the snapshot layout plus teams and deleted ids).
pub(crate) fn state(sh: &Shared) -> serde_json::Value {
    let dir = sh.dir();
    json!({
        "users": dir.users.values().collect::<Vec<_>>(),
        "groups": dir.groups.values().collect::<Vec<_>>(),
        "groupMembers": dir.members,
        "groupOwners": dir.owners,
        "subscribedSkus": dir.skus,
        "managers": dir.managers,
        "teams": dir.teams.keys().collect::<Vec<_>>(),
        "deletedItems": dir.deleted.keys().collect::<Vec<_>>(),
    })
}
