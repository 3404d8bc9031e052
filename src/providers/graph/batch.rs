//! JSON batching (`POST /$batch`): up to 20 sub-requests per call. The
//! outer call answers 200 even when items fail, so each item's status is
//! checked on its own; throttled (429) and faulted (5xx) items are resent,
//! after the largest `Retry-After` among them or the backoff delay,
//! until the attempts run out.

use std::collections::BTreeMap;
use std::time::Duration;

use backon::BackoffBuilder;
use reqwest::Method;
use serde_json::{Value, json};

use super::error::{GraphError, parse_retry_after};
use super::http::{Http, Request, Response};

/// Graph's limit of sub-requests per `$batch`.
pub const MAX_BATCH: usize = 20;

/// One sub-request.
#[derive(Clone, Debug)]
pub struct Item {
    /// Method.
    pub method: Method,
    /// URL relative to `/v1.0` (`/groups/{id}/members?$select=id`).
    pub url: String,
    /// JSON body.
    pub body: Option<Value>,
    /// The permission it needs (for 403 hints).
    pub permission: &'static str,
    /// Whether resending it after a 5xx is harmless (see [`Request::replay_safe`]).
    pub replay_safe: bool,
}

impl Item {
    /// A GET sub-request.
    pub fn get(url: impl Into<String>, permission: &'static str) -> Self {
        Self::new(Method::GET, url, None, permission)
    }

    /// A sub-request.
    pub fn new(
        method: Method,
        url: impl Into<String>,
        body: Option<Value>,
        permission: &'static str,
    ) -> Self {
        Self {
            method,
            url: url.into(),
            body,
            permission,
            replay_safe: true,
        }
    }

    /// The same request sent on its own.
    fn request(&self) -> Request {
        Request {
            method: self.method.clone(),
            url: self.url.clone(),
            body: self.body.clone(),
            headers: Vec::new(),
            permission: Some(self.permission),
            writes: u32::from(self.is_write()),
            replay_safe: self.replay_safe,
        }
    }

    fn is_write(&self) -> bool {
        self.method != Method::GET
    }

    fn describe(&self) -> String {
        self.request().describe()
    }
}

/// The JSON body of one `$batch` call over `items`, ids being their indices.
pub fn batch_body(items: &[(usize, &Item)]) -> Value {
    let requests: Vec<Value> = items
        .iter()
        .map(|(id, item)| {
            let mut r =
                json!({"id": id.to_string(), "method": item.method.as_str(), "url": item.url});
            if let Some(body) = &item.body {
                r["body"] = body.clone();
                r["headers"] = json!({"Content-Type": "application/json"});
            }
            r
        })
        .collect();
    json!({ "requests": requests })
}

/// One item's answer inside a `$batch` response.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemAnswer {
    /// The sub-request id.
    pub id: usize,
    /// Its status.
    pub status: u16,
    /// Its `Retry-After`, if any.
    pub retry_after: Option<Duration>,
    /// Its body.
    pub body: Value,
}

/// Reads the `responses` of a `$batch` answer, in any order.
pub fn parse_answers(body: &Value) -> Result<Vec<ItemAnswer>, String> {
    let responses = body
        .get("responses")
        .and_then(Value::as_array)
        .ok_or("the $batch answer has no `responses` array")?;
    responses
        .iter()
        .map(|r| {
            let id = r
                .get("id")
                .and_then(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| v.as_u64().map(|n| n.to_string()))
                })
                .and_then(|s| s.parse::<usize>().ok())
                .ok_or("a $batch answer item has no numeric `id`")?;
            let status = r
                .get("status")
                .and_then(Value::as_u64)
                .ok_or("a $batch answer item has no `status`")? as u16;
            let retry_after = r.get("headers").and_then(|h| {
                h.as_object()?
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                    .and_then(|(_, v)| {
                        parse_retry_after(
                            &v.as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| v.to_string()),
                        )
                    })
            });
            Ok(ItemAnswer {
                id,
                status,
                retry_after,
                body: r.get("body").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// Runs `items` in batches of 20, resending throttled and faulted items.
/// Returns one result per item, in order.
pub async fn run(http: &Http, items: &[Item]) -> Vec<Result<Response, GraphError>> {
    if let [item] = items {
        // One request: no envelope needed.
        return vec![http.send(&item.request()).await];
    }
    let mut results: BTreeMap<usize, Result<Response, GraphError>> = BTreeMap::new();
    let mut pending: Vec<usize> = (0..items.len()).collect();
    let mut backoff = http.backoff().build();
    while !pending.is_empty() {
        let mut again: Vec<(usize, GraphError)> = Vec::new();
        let chunks: Vec<Vec<usize>> = pending.chunks(MAX_BATCH).map(<[usize]>::to_vec).collect();
        let sent = futures_util::future::join_all(
            chunks.iter().map(|chunk| send_chunk(http, items, chunk)),
        )
        .await;
        for (chunk, outcome) in chunks.iter().zip(sent) {
            match outcome {
                Err(e) => {
                    // The whole call failed after its own retries: every item fails.
                    for &i in chunk {
                        results.insert(
                            i,
                            Err(e
                                .clone()
                                .about(items[i].describe())
                                .needing(Some(items[i].permission))),
                        );
                    }
                }
                Ok(answers) => {
                    for &i in chunk {
                        let Some(a) = answers.iter().find(|a| a.id == i) else {
                            let e = GraphError::unexpected(
                                items[i].describe(),
                                "the $batch answer left this item out",
                            );
                            if items[i].replay_safe {
                                again.push((i, e));
                            } else {
                                results.insert(i, Err(e));
                            }
                            continue;
                        };
                        let what = items[i].describe();
                        if (200..300).contains(&a.status) {
                            results.insert(
                                i,
                                Ok(Response {
                                    status: a.status,
                                    body: a.body.clone(),
                                    location: None,
                                }),
                            );
                            continue;
                        }
                        if a.status == 429 {
                            http.stats
                                .throttled
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        let e = GraphError::from_response(what, a.status, a.retry_after, &a.body)
                            .needing(Some(items[i].permission));
                        if e.is_retryable() && (items[i].replay_safe || e.was_not_run()) {
                            again.push((i, e));
                        } else {
                            results.insert(i, Err(e));
                        }
                    }
                }
            }
        }
        if again.is_empty() {
            break;
        }
        let Some(delay) = backoff.next() else {
            for (i, e) in again {
                results.insert(i, Err(e));
            }
            break;
        };
        let wait = again
            .iter()
            .filter_map(|(_, e)| e.retry_after())
            .max()
            .unwrap_or(delay);
        http.stats
            .retries
            .fetch_add(again.len() as u64, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(
            items = again.len(),
            wait_ms = wait.as_millis() as u64,
            "resending $batch items"
        );
        tokio::time::sleep(wait).await;
        pending = again.into_iter().map(|(i, _)| i).collect();
    }
    (0..items.len())
        .map(|i| results.remove(&i).expect("every item has a result"))
        .collect()
}

async fn send_chunk(
    http: &Http,
    items: &[Item],
    chunk: &[usize],
) -> Result<Vec<ItemAnswer>, GraphError> {
    let listed: Vec<(usize, &Item)> = chunk.iter().map(|&i| (i, &items[i])).collect();
    let writes = listed.iter().filter(|(_, it)| it.is_write()).count() as u32;
    let req = Request {
        method: Method::POST,
        url: "/$batch".into(),
        body: Some(batch_body(&listed)),
        headers: Vec::new(),
        permission: None,
        writes,
        replay_safe: listed.iter().all(|(_, it)| it.replay_safe),
    };
    let response = http.send(&req).await?;
    parse_answers(&response.body).map_err(|e| GraphError::unexpected("POST /$batch", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_content_type_only_with_a_body() {
        let get = Item::get("/groups/g1/members?$select=id", "GroupMember.Read.All");
        let patch = Item::new(
            Method::PATCH,
            "/groups/g1",
            Some(json!({"members@odata.bind": []})),
            "GroupMember.ReadWrite.All",
        );
        let body = batch_body(&[(0, &get), (7, &patch)]);
        let reqs = body["requests"].as_array().unwrap();
        assert_eq!(reqs[0]["id"], "0");
        assert!(reqs[0].get("headers").is_none());
        assert_eq!(reqs[1]["id"], "7");
        assert_eq!(reqs[1]["method"], "PATCH");
        assert_eq!(reqs[1]["headers"]["Content-Type"], "application/json");
    }

    #[test]
    fn answers_in_any_order_with_item_retry_after() {
        let body = json!({"responses":[
            {"id":"3","status":200,"body":{"value":[]}},
            {"id":"1","status":429,"headers":{"Retry-After":"2.5"},"body":{"error":{"code":"TooManyRequests","message":"later"}}},
        ]});
        let answers = parse_answers(&body).unwrap();
        assert_eq!(answers[0].id, 3);
        assert_eq!(answers[1].id, 1);
        assert_eq!(answers[1].retry_after, Some(Duration::from_millis(2500)));
        assert!(parse_answers(&json!({})).is_err());
    }
}
