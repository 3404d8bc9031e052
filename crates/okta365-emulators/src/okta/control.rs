//! `/_emulator/...`: change the org from outside (each change writes the
//! System Log events Okta would) and read request counts. Not part of
//! Okta's API; no authentication, loopback only like the rest.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::app::{AppRef, lock};
use super::state::MutationError;

/// The control routes, to nest under `/_emulator`.
pub fn router(app: AppRef) -> Router {
    Router::new()
        .route("/requests", get(requests))
        .route("/users", post(add_user))
        .route("/users/{id}/status", put(set_status))
        .route("/users/{id}/profile", post(update_profile))
        .route(
            "/groups/{gid}/users/{uid}",
            put(add_member).delete(remove_member),
        )
        .with_state(app)
}

fn outcome(result: Result<Value, MutationError>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(error) => {
            let status = match error {
                MutationError::NoUser(_) | MutationError::NoGroup(_) => StatusCode::NOT_FOUND,
                MutationError::Invalid(_) => StatusCode::BAD_REQUEST,
            };
            (status, Json(json!({ "error": error.to_string() }))).into_response()
        }
    }
}

async fn requests(State(app): State<AppRef>) -> Response {
    Json(lock(&app.counts).clone()).into_response()
}

async fn add_user(State(app): State<AppRef>, Json(user): Json<Value>) -> Response {
    let added = app.org().add_user(user, Timestamp::now());
    outcome(added.map(|id| json!({ "id": id })))
}

async fn set_status(
    State(app): State<AppRef>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(status) = body["status"].as_str() else {
        return outcome(Err(MutationError::Invalid(
            "the body needs a `status` string".into(),
        )));
    };
    outcome(
        app.org()
            .set_status(&id, status, Timestamp::now())
            .map(|()| json!({})),
    )
}

async fn update_profile(
    State(app): State<AppRef>,
    Path(id): Path<String>,
    Json(changes): Json<Value>,
) -> Response {
    outcome(
        app.org()
            .update_profile(&id, changes, Timestamp::now())
            .map(|()| json!({})),
    )
}

async fn add_member(
    State(app): State<AppRef>,
    Path((gid, uid)): Path<(String, String)>,
) -> Response {
    outcome(
        app.org()
            .add_member(&gid, &uid, Timestamp::now())
            .map(|()| json!({})),
    )
}

async fn remove_member(
    State(app): State<AppRef>,
    Path((gid, uid)): Path<(String, String)>,
) -> Response {
    outcome(
        app.org()
            .remove_member(&gid, &uid, Timestamp::now())
            .map(|()| json!({})),
    )
}
