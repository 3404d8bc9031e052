//! Identity Protection's risky users (Entra ID P2): `GET
//! /identityProtection/riskyUsers[/{id}]`, and the actions
//! `confirmCompromised` (risk becomes high) and `dismiss` (risk cleared),
//! each taking `{"userIds": […]}` and answering 204. Graph allows about one
//! request a second per tenant on these endpoints and refuses the rest with
//! 429 **without** `Retry-After`; the emulator does the same, whatever the
//! throttling knobs say.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::auth::Granted;
use super::shared::Shared;
use super::wire::{ApiRequest, ApiResponse, bad_request, method_not_allowed, no_route, not_found};

/// The least time between two accepted calls (Graph: one a second, with a
/// little slack for timer jitter on the caller's side).
const SPACING: Duration = Duration::from_millis(950);

/// Risky users and the time of the last accepted call.
#[derive(Default)]
pub(crate) struct RiskyUsers {
    users: BTreeMap<String, Value>,
    last_call: Option<Instant>,
}

pub(crate) const READ_RISKY: &[&str] = &[
    "IdentityRiskyUser.Read.All",
    "IdentityRiskyUser.ReadWrite.All",
];
pub(crate) const WRITE_RISKY: &[&str] = &["IdentityRiskyUser.ReadWrite.All"];

/// Routes `/identityProtection/riskyUsers/…` (`rest` is what follows `riskyUsers`).
pub(crate) fn handle(
    sh: &Shared,
    req: &ApiRequest,
    rest: &[&str],
    granted: impl Fn(&[&str]) -> Result<Granted, ApiResponse>,
    now: Instant,
) -> Result<ApiResponse, ApiResponse> {
    let m = req.method.as_str();
    let route = match (m, rest) {
        ("GET", []) => {
            granted(READ_RISKY)?;
            Route::List
        }
        ("GET", [id]) => {
            granted(READ_RISKY)?;
            Route::Get((*id).to_owned())
        }
        ("POST", [action @ ("confirmCompromised" | "dismiss")]) => {
            granted(WRITE_RISKY)?;
            Route::Act(*action == "confirmCompromised")
        }
        (_, [] | [_]) => return Err(method_not_allowed()),
        _ => return Err(no_route(req)),
    };
    let mut risky = sh.risky.lock().unwrap_or_else(|p| p.into_inner());
    if risky
        .last_call
        .is_some_and(|last| now.saturating_duration_since(last) < SPACING)
    {
        // As Graph does for these endpoints: no Retry-After.
        return Ok(ApiResponse::json(
            429,
            json!({"error": {"code": "TooManyRequests", "message": "Too many requests. Please retry later."}}),
        ));
    }
    risky.last_call = Some(now);
    Ok(match route {
        Route::List => ApiResponse::json(
            200,
            json!({
                "@odata.context": format!("{}/v1.0/$metadata#identityProtection/riskyUsers", sh.base_url()),
                "value": risky.users.values().collect::<Vec<_>>(),
            }),
        ),
        Route::Get(id) => match risky.users.get(&id) {
            Some(user) => {
                let mut body = user.clone();
                body["@odata.context"] = json!(format!(
                    "{}/v1.0/$metadata#identityProtection/riskyUsers/$entity",
                    sh.base_url()
                ));
                ApiResponse::json(200, body)
            }
            None => not_found(&id),
        },
        Route::Act(compromised) => {
            let ids = match user_ids(req) {
                Ok(ids) => ids,
                Err(resp) => return Ok(resp),
            };
            let dir = sh.dir();
            let mut found = Vec::new();
            for id in &ids {
                match dir.users.get(id) {
                    Some(user) => found.push((id.clone(), user.clone())),
                    None => return Ok(not_found(id)),
                }
            }
            drop(dir);
            for (id, user) in found {
                let risk = if compromised {
                    Risk {
                        level: "high",
                        state: "confirmedCompromised",
                        detail: "adminConfirmedUserCompromised",
                    }
                } else {
                    Risk {
                        level: "none",
                        state: "dismissed",
                        detail: "adminDismissedAllRiskForUser",
                    }
                };
                risky.record(&id, &user, risk);
            }
            ApiResponse::empty(204)
        }
    })
}

/// A risky user's `riskLevel`, `riskState` and `riskDetail`.
#[derive(Clone, Copy)]
pub(crate) struct Risk {
    pub level: &'static str,
    pub state: &'static str,
    pub detail: &'static str,
}

impl RiskyUsers {
    /// Stores `user`'s risk, as Identity Protection's riskyUser resource shows it.
    pub(crate) fn record(&mut self, id: &str, user: &Value, risk: Risk) {
        self.users.insert(
            id.to_owned(),
            json!({
                "@odata.type": "#microsoft.graph.riskyUser",
                "id": id,
                "isDeleted": false,
                "isProcessing": false,
                "riskLastUpdatedDateTime": super::users::timestamp(),
                "riskLevel": risk.level,
                "riskState": risk.state,
                "riskDetail": risk.detail,
                "userDisplayName": user["displayName"],
                "userPrincipalName": user["userPrincipalName"],
            }),
        );
    }
}

enum Route {
    List,
    Get(String),
    Act(bool),
}

/// The `userIds` of an action body.
fn user_ids(req: &ApiRequest) -> Result<Vec<String>, ApiResponse> {
    let ids = req
        .body
        .as_ref()
        .and_then(|b| b.get("userIds"))
        .and_then(Value::as_array)
        .ok_or_else(|| bad_request("The request body needs a `userIds` array."))?;
    let ids: Vec<String> = ids
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect::<Option<_>>()
        .ok_or_else(|| bad_request("`userIds` must hold user object ids (strings)."))?;
    if ids.is_empty() {
        return Err(bad_request("`userIds` is empty."));
    }
    Ok(ids)
}
