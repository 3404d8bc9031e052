//! HTTP plumbing: an axum fallback handler served connection by connection
//! through hyper (so an injected "connection reset" can drop a connection
//! without a response), request counting, fault injection at the front
//! door, the token endpoint, bearer checks, and Graph's fidelity headers.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body as HttpBody, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use base64::Engine;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

use super::auth::{self, TokenRequest};
use super::faults::{self, Fault};
use super::shared::{Shared, endpoint_key};
use super::wire::{ApiRequest, ApiResponse, Body, ODATA_JSON, fill_inner_error};
use super::{batch, debug};

/// Marks a response whose connection must be dropped instead.
#[derive(Clone, Copy, Debug)]
struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by fault injection")
    }
}

impl std::error::Error for ResetConnection {}

/// Accepts connections until `shutdown` flips, then drops them all.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let router = axum::Router::new().fallback(handle).with_state(shared);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                // Dropping a connection then sends RST, as a reset should.
                let _ = stream.set_zero_linger();
                let router = router.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let router = router.clone();
                        async move {
                            let resp = router.oneshot(req.map(HttpBody::new)).await.unwrap_or_else(|e| match e {});
                            if resp.extensions().get::<ResetConnection>().is_some() {
                                Err(ResetConnection)
                            } else {
                                Ok(resp)
                            }
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
}

async fn handle(
    State(sh): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw_path = uri.path().to_owned();
    let path = percent_decode(&raw_path);
    if path.starts_with("/_emulator/") {
        return to_http(debug::handle(&sh, method.as_str(), &path), None, None);
    }
    let now = Instant::now();
    let key = endpoint_key(method.as_str(), &path);
    let n = sh.count(&key);
    sh.count("total");
    let request_id = sh.request_id();
    let client_request_id = header(&headers, "client-request-id")
        .unwrap_or(&request_id)
        .to_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // Where the caller reached us: through a TLS proxy on loopback (which
    // azure-identity needs, as it takes only https authorities) or directly.
    let public_url = header(&headers, "x-forwarded-proto")
        .zip(header(&headers, "host"))
        .map(|(proto, host)| format!("{proto}://{host}"));
    if let [tenant, "v2.0", ".well-known", "openid-configuration"] = segments.as_slice() {
        let known = sh.tenant_names.contains(&tenant.to_lowercase());
        let resp = if !known {
            ApiResponse::json(
                400,
                serde_json::json!({"error": "invalid_tenant", "error_description": format!("AADSTS90002: Tenant '{tenant}' not found.")}),
            )
        } else {
            auth::openid_configuration(public_url.as_deref().unwrap_or(sh.base_url()), tenant)
        };
        sh.count(&format!("status {}", resp.status));
        return to_http(resp, None, None);
    }
    if let [tenant, "oauth2", "v2.0", "token"] = segments.as_slice() {
        // The identity platform, not Graph: its own headers, a trace id per
        // request and a correlation id that is the caller's or another id.
        let correlation_id = match header(&headers, "client-request-id") {
            Some(id) => id.to_owned(),
            None => sh.request_id(),
        };
        let resp = if method == Method::POST {
            token(
                &sh,
                tenant,
                &headers,
                &body,
                (&request_id, &correlation_id),
                public_url.as_deref(),
            )
        } else {
            auth::token_endpoint_get(&request_id, &correlation_id)
        };
        sh.count(&format!("status {}", resp.status));
        let mut resp = resp
            .with_header("Cache-Control", "no-store, no-cache")
            .with_header("Pragma", "no-cache")
            .with_header("Expires", "-1")
            .with_header(
                "Strict-Transport-Security",
                "max-age=31536000; includeSubDomains",
            )
            .with_header("X-Content-Type-Options", "nosniff")
            .with_header("x-ms-request-id", request_id.as_str())
            .with_header("x-ms-ests-server", "2.1.0 - EMULATOR");
        if let Some(id) = header(&headers, "client-request-id") {
            resp = resp.with_header("client-request-id", id);
        }
        return to_http(resp, None, None);
    }
    let resp = if segments.first() == Some(&"v1.0") {
        let fault = sh.take_injected(&key, false).unwrap_or_else(|| {
            faults::draw(&sh.opts.faults, &mut faults::rng_for(sh.opts.seed, &key, n))
        });
        if fault == Fault::Reset {
            sh.count("fault reset");
            let mut reset = Response::new(HttpBody::empty());
            reset.extensions_mut().insert(ResetConnection);
            return reset;
        }
        let resp = if fault == Fault::Unavailable {
            sh.count("fault 503");
            faults::service_unavailable()
        } else if let Fault::Throttled(seconds) = fault {
            sh.count("fault 429");
            super::throttle::too_many_requests(seconds)
        } else {
            let resp = graph(
                &sh,
                &method,
                &path,
                uri.query().unwrap_or(""),
                &headers,
                &body,
                now,
            );
            if fault == Fault::GatewayTimeout {
                sh.count("fault 504");
                faults::gateway_timeout()
            } else {
                resp
            }
        };
        if fault == Fault::Timeout {
            sh.count("fault timeout");
            tokio::time::sleep(sh.opts.faults.timeout_hold).await;
        }
        resp
    } else {
        ApiResponse::error(
            400,
            "BadRequest",
            format!(
                "Invalid version: {}",
                segments.first().copied().unwrap_or("")
            ),
        )
    };
    sh.count(&format!("status {}", resp.status));
    to_http(resp, Some(&request_id), Some(&client_request_id))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn token(
    sh: &Shared,
    tenant: &str,
    headers: &HeaderMap,
    body: &Bytes,
    (trace_id, correlation_id): (&str, &str),
    public_url: Option<&str>,
) -> ApiResponse {
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let basic = header(headers, "authorization")
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(id, secret)| (percent_decode(id), percent_decode(secret)))
        });
    let req = TokenRequest {
        tenant,
        form: &form,
        basic,
        base_url: sh.base_url(),
        public_url,
        tenant_names: &sh.tenant_names,
        epoch: sh.epoch(),
    };
    auth::token_endpoint(&sh.issuer, &sh.opts, &req, trace_id, correlation_id)
}

/// A Graph call: parse, authenticate, then `$batch` or one routed call.
fn graph(
    sh: &Shared,
    method: &Method,
    path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    body: &Bytes,
    now: Instant,
) -> ApiResponse {
    let body = if body.is_empty() {
        None
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => Some(v),
            Err(_) => {
                return ApiResponse::error(
                    400,
                    "BadRequest",
                    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
                );
            }
        }
    };
    let mut lowered = BTreeMap::new();
    for (k, v) in headers {
        if let Ok(v) = v.to_str() {
            lowered.insert(k.as_str().to_lowercase(), v.to_owned());
        }
    }
    let req = ApiRequest {
        method: method.as_str().to_uppercase(),
        path: path.strip_prefix("/v1.0").unwrap_or(path).to_owned(),
        query: parse_query(raw_query),
        headers: lowered,
        body,
    };
    let principal =
        match sh
            .issuer
            .authenticate(&sh.opts, header(headers, "authorization"), sh.epoch())
        {
            Ok(p) => p,
            Err(e) => return e,
        };
    if req.path == "/$batch" {
        batch::handle(sh, &req, &principal, now)
    } else {
        sh.execute(&req, &principal, now)
    }
}

/// Decodes `%XX` escapes (a `+` stays a `+`).
pub(crate) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Decodes a query string, literal (`$select=a,b`) or encoded (`%24select`).
pub(crate) fn parse_query(raw: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect()
}

fn to_http(
    resp: ApiResponse,
    request_id: Option<&str>,
    client_request_id: Option<&str>,
) -> Response {
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = Response::builder().status(status);
    let is_graph = request_id.is_some();
    let (content_type, bytes) = match resp.body {
        Body::Empty => (None, Vec::new()),
        Body::Json(mut v) => {
            if let (Some(r), Some(c)) = (request_id, client_request_id) {
                fill_inner_error(&mut v, r, c);
            }
            let is_token = v.get("token_type").is_some() || v.get("error_codes").is_some();
            let ct = if is_token {
                "application/json; charset=utf-8"
            } else {
                ODATA_JSON
            };
            (Some(ct), serde_json::to_vec(&v).unwrap_or_default())
        }
        Body::Text(t) => (Some("text/plain"), t.into_bytes()),
    };
    if let Some(ct) = content_type {
        builder = builder.header("Content-Type", ct);
    }
    if is_graph {
        let r = request_id.unwrap_or_default();
        builder = builder
            .header("request-id", r)
            .header("client-request-id", client_request_id.unwrap_or(r))
            .header("OData-Version", "4.0")
            .header("Cache-Control", "no-cache")
            .header("Strict-Transport-Security", "max-age=31536000")
            .header(
                "x-ms-ags-diagnostic",
                r#"{"ServerInfo":{"DataCenter":"Loopback","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"EMULATOR"}}"#,
            );
    }
    for (k, v) in &resp.headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            builder = builder.header(k.as_str(), v);
        }
    }
    builder
        .body(HttpBody::from(bytes))
        .unwrap_or_else(|_| Response::new(HttpBody::empty()))
}
