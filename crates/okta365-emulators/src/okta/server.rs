//! The HTTP side: the route table, the gate every API request passes
//! (count, rate limit, faults, authentication, then the handler) and the
//! accept loop, which owns each connection so a fault can reset it.

use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use super::app::{AppRef, classify, lock};
use super::errors::ApiError;
use super::options::Fault;
use super::ratelimit::Decision;
use super::{auth, control, faults, groups, logs, oauth, users};

/// Lets a handler ask the accept loop to reset its connection.
#[derive(Clone)]
struct ConnectionReset(Arc<Notify>);

/// Every route the Okta emulator serves (see [`crate::routes`]); a request
/// matching none is refused (404, or 405 for a served path) once it is
/// authenticated. `_emulator/` control routes are not Okta's and not listed.
pub const ROUTES: &[&str] = &[
    "GET /api/v1/users",
    "POST /api/v1/users",
    "GET /api/v1/users/{id}",
    "POST /api/v1/users/{id}",
    "PUT /api/v1/users/{id}",
    "DELETE /api/v1/users/{id}",
    "GET /api/v1/users/{id}/groups",
    "POST /api/v1/users/{id}/lifecycle/activate",
    "POST /api/v1/users/{id}/lifecycle/reactivate",
    "POST /api/v1/users/{id}/lifecycle/deactivate",
    "POST /api/v1/users/{id}/lifecycle/suspend",
    "POST /api/v1/users/{id}/lifecycle/unsuspend",
    "POST /api/v1/users/{id}/lifecycle/unlock",
    "GET /api/v1/groups",
    "POST /api/v1/groups",
    "GET /api/v1/groups/{id}",
    "PUT /api/v1/groups/{id}",
    "DELETE /api/v1/groups/{id}",
    "GET /api/v1/groups/{id}/users",
    "PUT /api/v1/groups/{id}/users/{id}",
    "DELETE /api/v1/groups/{id}/users/{id}",
    "GET /api/v1/logs",
    "POST /oauth2/v1/token",
];

/// Every route of the emulator.
pub fn router(app: AppRef) -> Router {
    let api = Router::new()
        .route("/api/v1/users", get(users::list).post(users::create))
        .route(
            "/api/v1/users/{id}",
            get(users::get)
                .post(users::update)
                .put(users::update)
                .delete(users::delete),
        )
        .route("/api/v1/users/{id}/groups", get(users::groups))
        .route(
            "/api/v1/users/{id}/lifecycle/{operation}",
            post(users::lifecycle),
        )
        .route("/api/v1/groups", get(groups::list).post(groups::create))
        .route(
            "/api/v1/groups/{id}",
            get(groups::get).put(groups::replace).delete(groups::delete),
        )
        .route("/api/v1/groups/{id}/users", get(groups::members))
        .route(
            "/api/v1/groups/{id}/users/{user}",
            put(groups::add_member).delete(groups::remove_member),
        )
        .route("/api/v1/logs", get(logs::list))
        .route("/oauth2/v1/token", post(oauth::token))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), gate))
        .with_state(app.clone());
    Router::new()
        .nest("/_emulator", control::router(app))
        .merge(api)
}

async fn not_found(request: Request) -> Response {
    ApiError::not_found(request.uri().path(), "Endpoint").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new("E0000022").into_response()
}

fn fault_response(status: u16) -> Response {
    match status {
        429 => ApiError::new("E0000047").into_response(),
        other => ApiError::new("E0000009")
            .status(StatusCode::from_u16(other).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .into_response(),
    }
}

async fn gate(State(app): State<AppRef>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let route = classify(&path);
    *lock(&app.counts)
        .entry(format!("{method} {}", route.template))
        .or_default() += 1;
    let ordinal = {
        let mut ordinals = lock(&app.ordinals);
        let n = ordinals.entry(path.clone()).or_default();
        *n += 1;
        *n
    };
    let in_flight = InFlight::enter(&app);
    let decision = if in_flight.over(app.options.concurrency) {
        concurrency_refusal()
    } else {
        lock(&app.limiter).take(route.bucket, Instant::now(), SystemTime::now())
    };
    let mut response = if !decision.allowed {
        ApiError::new("E0000047").into_response()
    } else {
        let page_fault = page_fault(&app, &path, request.uri().query());
        let fault = page_fault
            .or_else(|| faults::decide(&app.options.faults, app.options.seed, &path, ordinal));
        match fault {
            Some(Fault::Reset) => {
                if let Some(reset) = request.extensions().get::<ConnectionReset>() {
                    reset.0.notify_one();
                    std::future::pending::<()>().await;
                }
                fault_response(500)
            }
            Some(Fault::Timeout) => {
                tokio::time::sleep(app.options.faults.timeout).await;
                fault_response(500)
            }
            Some(Fault::Status(status)) => fault_response(status),
            Some(Fault::EmptyPage) => axum::Json(serde_json::json!([])).into_response(),
            None => match route.scope.map(|scope| write_scope(&method, scope)) {
                Some(scope) => {
                    match auth::authorize(&app, &method, &path, request.headers(), scope) {
                        Ok(()) => routed(&method, &path, request, next).await,
                        Err(refused) => *refused,
                    }
                }
                None => routed(&method, &path, request, next).await,
            },
        }
    };
    tracing::debug!(%method, path = %route.template, status = response.status().as_u16(), "okta emulator");
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-rate-limit-limit", decision.limit.to_string()),
        ("x-rate-limit-remaining", decision.remaining.to_string()),
        ("x-rate-limit-reset", decision.reset.to_string()),
        ("x-okta-request-id", request_id()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

/// Runs the handler of a [`ROUTES`] entry; anything else is Okta's 404
/// (or 405 for a path served under other methods).
async fn routed(method: &axum::http::Method, path: &str, request: Request, next: Next) -> Response {
    let segments = crate::routes::segments_of(path);
    if crate::routes::find(ROUTES, method.as_str(), &segments).is_some() {
        next.run(request).await
    } else if crate::routes::path_known(ROUTES, &segments) {
        method_not_allowed().await
    } else {
        not_found(request).await
    }
}

/// The scope a request needs: writes to users and groups need the
/// `.manage` scope of the `.read` one reads need.
fn write_scope(method: &axum::http::Method, scope: &'static str) -> &'static str {
    if *method == axum::http::Method::GET {
        return scope;
    }
    match scope {
        "okta.users.read" => "okta.users.manage",
        "okta.groups.read" => "okta.groups.manage",
        other => other,
    }
}

/// The page fault for this request, if page faults are configured.
fn page_fault(app: &AppRef, path: &str, query: Option<&str>) -> Option<super::options::Fault> {
    if app.options.faults.pages.is_empty() {
        return None;
    }
    let params = super::oauth::parse_form(query.unwrap_or_default().as_bytes());
    let after = super::paging::param(&params, "after");
    let mut traversals = lock(&app.traversals);
    let page = traversals.page(path, after);
    traversals.page_fault(&app.options.faults, path, page)
}

/// Counts a request in flight until dropped.
struct InFlight<'a>(&'a AtomicU32, u32);

impl<'a> InFlight<'a> {
    fn enter(app: &'a AppRef) -> Self {
        let before = app.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(&app.in_flight, before + 1)
    }

    fn over(&self, limit: u32) -> bool {
        self.1 > limit
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Okta's concurrency 429: limit and remaining are 0, the reset only a hint.
fn concurrency_refusal() -> Decision {
    let now = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Decision {
        allowed: false,
        limit: 0,
        remaining: 0,
        reset: now.as_secs() + 1,
    }
}

fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("Emu{:024}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Serves `router` on `listener` until `shutdown` turns true.
pub async fn serve(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors, most likely: give clients a moment to close.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                tokio::spawn(connection(stream, router.clone(), shutdown.clone()));
            }
            _ = shutdown.changed() => break,
        }
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let reset = Arc::new(Notify::new());
    // A second handle on the socket, to send an RST instead of a FIN on reset.
    let handle = stream
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(socket2::Socket::from);
    let service = TowerToHyperService::new(router.layer(Extension(ConnectionReset(reset.clone()))));
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = served => {}
        _ = reset.notified() => {
            if let Some(handle) = &handle {
                let _ = handle.set_linger(Some(Duration::ZERO));
            }
        }
        _ = shutdown.changed() => {}
    }
}
