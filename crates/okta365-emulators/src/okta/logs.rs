//! `GET /api/v1/logs`, the System Log. A *polling* request (no `until`,
//! ascending) walks events in persistence order and always returns a `next`
//! link, even on an empty page, so a client that keeps following it sees
//! every appended event exactly once. A *bounded* request (`until` set, or
//! descending) is ordered by `published` and its last page has no `next`.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::app::AppRef;
use super::errors::ApiError;
use super::expr;
use super::paging::{self, Params, param};
use super::users::with_links;

/// `GET /api/v1/logs`.
pub async fn list(
    State(app): State<AppRef>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    match list_page(&app, &headers, &params, Timestamp::now()) {
        Ok(response) => response,
        Err(error) => error.system_log().into_response(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    /// Polling: the next persistence position to read.
    Poll { position: usize, since_ms: i64 },
    /// Bounded: how many matching events earlier pages held.
    Bounded { offset: usize, since_ms: i64 },
}

impl Cursor {
    fn encode(self) -> String {
        match self {
            Cursor::Poll { position, since_ms } => format!("p{position}_{since_ms}"),
            Cursor::Bounded { offset, since_ms } => format!("b{offset}_{since_ms}"),
        }
    }

    fn decode(text: &str) -> Option<Cursor> {
        let (kind, rest) = text.split_at_checked(1)?;
        let (n, since) = rest.split_once('_')?;
        let (n, since_ms) = (n.parse().ok()?, since.parse().ok()?);
        match kind {
            "p" => Some(Cursor::Poll {
                position: n,
                since_ms,
            }),
            "b" => Some(Cursor::Bounded {
                offset: n,
                since_ms,
            }),
            _ => None,
        }
    }

    fn since_ms(self) -> i64 {
        match self {
            Cursor::Poll { since_ms, .. } | Cursor::Bounded { since_ms, .. } => since_ms,
        }
    }
}

fn invalid(why: impl Into<String>) -> ApiError {
    ApiError::new("E0000001").cause(why)
}

fn parse_time(name: &str, text: &str) -> Result<Timestamp, ApiError> {
    text.parse::<Timestamp>()
        .map_err(|_| invalid(format!("{name}: `{text}` is not an ISO 8601 timestamp")))
}

fn published(event: &Value) -> Timestamp {
    event["published"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn list_page(
    app: &AppRef,
    headers: &HeaderMap,
    params: &Params,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let base = paging::base_url(headers);
    // Okta's own `next` links carry `since` beside `after`, and its SDKs
    // re-send the caller's `since` with the cursor: the cursor decides.
    let cursor =
        match param(params, "after") {
            None => None,
            Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
                invalid(format!("after: `{text}` is not a cursor this org issued"))
            })?),
        };
    let until = param(params, "until")
        .map(|t| parse_time("until", t))
        .transpose()?;
    let descending = match param(params, "sortOrder").unwrap_or("ASCENDING") {
        "ASCENDING" => false,
        "DESCENDING" => true,
        other => {
            return Err(invalid(format!(
                "sortOrder: `{other}` is not ASCENDING or DESCENDING"
            )));
        }
    };
    let limit = paging::limit(params, 100, 0, 1000)?;
    let filter = match param(params, "filter") {
        None => None,
        Some(text) => Some(
            expr::parse(text, expr::LOG_FILTER)
                .map_err(|why| ApiError::new("E0000053").cause(format!("filter: {why}")))?,
        ),
    };
    let keywords: Vec<String> = param(params, "q")
        .map(|q| q.split_whitespace().map(str::to_lowercase).collect())
        .unwrap_or_default();
    if keywords.len() > 10 || keywords.iter().any(|k| k.chars().count() > 40) {
        return Err(invalid(
            "q: at most 10 keywords of at most 40 characters each",
        ));
    }
    let since = match (cursor, param(params, "since")) {
        (Some(c), _) => {
            Timestamp::from_millisecond(c.since_ms()).map_err(|_| invalid("after: bad cursor"))?
        }
        (None, Some(text)) => parse_time("since", text)?,
        (None, None) => until.unwrap_or(now) - SignedDuration::from_hours(24 * 7),
    };
    if since < now - SignedDuration::from_hours(24 * 180) {
        return Err(ApiError::new("E0000053").cause("since: must be within the last 180 days"));
    }
    let since_ms = since.as_millisecond();
    let org = app.org();
    let selected = |event: &Value| {
        published(event) >= since
            && filter.as_ref().is_none_or(|f| expr::matches(f, event))
            && (keywords.is_empty() || {
                let text = event.to_string().to_lowercase();
                keywords.iter().all(|k| text.contains(k))
            })
    };
    let polling = until.is_none() && !descending;
    let (page, next) = if polling {
        let mut position = match cursor {
            None => 0,
            Some(Cursor::Poll { position, .. }) => position.min(org.logs.len()),
            Some(Cursor::Bounded { .. }) => {
                return Err(invalid("after: a bounded cursor on a polling request"));
            }
        };
        let mut page = Vec::new();
        while position < org.logs.len() && page.len() < limit {
            if selected(&org.logs[position]) {
                page.push(org.logs[position].clone());
            }
            position += 1;
        }
        (page, Some(Cursor::Poll { position, since_ms }))
    } else {
        let offset = match cursor {
            None => 0,
            Some(Cursor::Bounded { offset, .. }) => offset,
            Some(Cursor::Poll { .. }) => {
                return Err(invalid("after: a polling cursor on a bounded request"));
            }
        };
        let upper = until.unwrap_or(now);
        let mut events: Vec<&Value> = org
            .logs
            .iter()
            .filter(|e| selected(e) && published(e) < upper)
            .collect();
        events.sort_by_key(|e| published(e));
        if descending {
            events.reverse();
        }
        let page: Vec<Value> = events
            .iter()
            .skip(offset)
            .take(limit)
            .map(|e| (*e).clone())
            .collect();
        let end = offset + page.len();
        let more = end < events.len() && limit > 0;
        (
            page,
            more.then_some(Cursor::Bounded {
                offset: end,
                since_ms,
            }),
        )
    };
    let next = next.map(Cursor::encode);
    let links = paging::link_headers(&base, "/api/v1/logs", params, next.as_deref(), &[]);
    Ok(with_links(page, links))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for cursor in [
            Cursor::Poll {
                position: 12,
                since_ms: 1_700_000_000_000,
            },
            Cursor::Bounded {
                offset: 0,
                since_ms: -5,
            },
        ] {
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
        assert_eq!(Cursor::decode("x1_2"), None);
        assert_eq!(Cursor::decode("p1"), None);
    }
}
