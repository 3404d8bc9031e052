//! Event hooks: verification, delivery, retry, failures.

use crate::common::*;

/// One call a hook receiver got: method, `Authorization`, JSON body.
type Call = (String, Option<String>, Value);
type Calls = std::sync::Arc<std::sync::Mutex<Vec<Call>>>;

/// A loopback event-hook receiver recording what it gets.
struct Receiver {
    url: String,
    seen: Calls,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Answers verification if asked; the first `failing_posts` deliveries get a 500.
    async fn start(answer_verification: bool, failing_posts: usize) -> Self {
        use axum::http::{HeaderMap, StatusCode};
        let seen: Calls = Default::default();
        let record = |method: &'static str, seen: Calls| {
            move |headers: HeaderMap, body: axum::body::Bytes| {
                let seen = seen.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let challenge = headers
                        .get("x-okta-verification-challenge")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let mut seen = seen.lock().unwrap();
                    seen.push((method.to_owned(), auth, body));
                    let posts = seen.iter().filter(|(m, _, _)| m == "POST").count();
                    let status = if method == "POST" && posts <= failing_posts {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    };
                    match challenge {
                        Some(c) if answer_verification => {
                            (status, axum::Json(json!({ "verification": c })))
                        }
                        _ => (status, axum::Json(json!({}))),
                    }
                }
            }
        };
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::get(record("GET", seen.clone())).post(record("POST", seen.clone())),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Receiver { url, seen, task }
    }

    /// Waits (at most 5 s) until `n` calls arrived.
    async fn wait_for(&self, n: usize) -> Vec<Call> {
        for _ in 0..100 {
            if self.seen.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.seen.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn event_hooks_are_verified_then_receive_their_event_types() {
    let receiver = Receiver::start(true, 0).await;
    let emulator = start(OktaOptions {
        event_hooks: vec![EventHook {
            url: receiver.url.clone(),
            authorization: "hook-secret".into(),
            event_types: vec![
                "user.lifecycle.deactivate".into(),
                "group.user_membership.add".into(),
            ],
        }],
        ..options()
    })
    .await;
    let users = acme_users();
    let (first, second) = (
        users[0]["id"].as_str().unwrap(),
        users[1]["id"].as_str().unwrap(),
    );
    emulator.set_status(first, "DEPROVISIONED");
    emulator.set_status(second, "SUSPENDED");
    emulator.add_member("00g8GJM89NQLUzCZ94x7", second);
    let calls = receiver.wait_for(2).await;
    assert_eq!(calls[0].0, "GET", "verification comes first");
    assert!(
        calls
            .iter()
            .all(|(_, auth, _)| auth.as_deref() == Some("hook-secret"))
    );
    let mut delivered = Vec::new();
    for (method, _, envelope) in &calls[1..] {
        assert_eq!(method, "POST");
        assert_eq!(envelope["eventType"], "com.okta.event_hook");
        assert_eq!(envelope["cloudEventsVersion"], "0.1");
        assert!(
            envelope["source"]
                .as_str()
                .unwrap()
                .starts_with(&emulator.url())
        );
        for event in envelope["data"]["events"].as_array().unwrap() {
            delivered.push(event["eventType"].as_str().unwrap().to_owned());
        }
    }
    for _ in 0..40 {
        if delivered.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        delivered = receiver.seen.lock().unwrap()[1..]
            .iter()
            .flat_map(|(_, _, e)| e["data"]["events"].as_array().unwrap().clone())
            .map(|e| e["eventType"].as_str().unwrap().to_owned())
            .collect();
    }
    assert_eq!(
        delivered,
        ["user.lifecycle.deactivate", "group.user_membership.add"]
    );
    emulator.stop().await;
    receiver.task.abort();
}

#[tokio::test]
async fn an_unverified_hook_gets_nothing_and_the_failure_is_logged() {
    let receiver = Receiver::start(false, 0).await;
    let emulator = start(OktaOptions {
        event_hooks: vec![EventHook {
            url: receiver.url.clone(),
            authorization: "hook-secret".into(),
            event_types: vec!["user.lifecycle.suspend".into()],
        }],
        ..options()
    })
    .await;
    emulator.set_status(acme_users()[0]["id"].as_str().unwrap(), "SUSPENDED");
    let mut failures = Vec::new();
    for _ in 0..100 {
        let url = format!(
            "{}/api/v1/logs?filter={}",
            emulator.url(),
            urlencode(r#"eventType eq "event_hook.delivery""#)
        );
        failures = get(&url).await.json::<Vec<Value>>().await.unwrap();
        if !failures.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["outcome"]["result"], "FAILURE");
    let calls = receiver.seen.lock().unwrap().clone();
    assert!(
        calls.iter().all(|(method, _, _)| method == "GET"),
        "no deliveries: {calls:?}"
    );
    let refused = OktaEmulator::start(OktaOptions {
        event_hooks: vec![EventHook {
            url: "https://hooks.example.com/okta".into(),
            authorization: "x".into(),
            event_types: vec![],
        }],
        ..options()
    })
    .await;
    assert!(refused.unwrap_err().contains("not on loopback"));
    emulator.stop().await;
    receiver.task.abort();
}

#[tokio::test]
async fn a_failed_delivery_is_retried_once() {
    let receiver = Receiver::start(true, 1).await;
    let emulator = start(OktaOptions {
        event_hooks: vec![EventHook {
            url: receiver.url.clone(),
            authorization: "hook-secret".into(),
            event_types: vec!["user.lifecycle.suspend".into()],
        }],
        ..options()
    })
    .await;
    emulator.set_status(acme_users()[0]["id"].as_str().unwrap(), "SUSPENDED");
    let calls = receiver.wait_for(3).await;
    let posts: Vec<&Value> = calls
        .iter()
        .filter(|(m, _, _)| m == "POST")
        .map(|(_, _, b)| b)
        .collect();
    assert_eq!(posts.len(), 2, "a 500, then the retry");
    assert_eq!(
        posts[0]["eventId"], posts[1]["eventId"],
        "the retry is the same delivery"
    );
    let failures = get(&format!(
        "{}/api/v1/logs?filter={}",
        emulator.url(),
        urlencode(r#"eventType eq "event_hook.delivery""#)
    ))
    .await
    .json::<Vec<Value>>()
    .await
    .unwrap();
    assert!(failures.is_empty(), "the retry succeeded: {failures:?}");
    emulator.stop().await;
    receiver.task.abort();
}

#[tokio::test]
async fn hook_faults_duplicate_and_reorder_deliveries() {
    let receiver = Receiver::start(true, 0).await;
    let emulator = start(OktaOptions {
        event_hooks: vec![EventHook {
            url: receiver.url.clone(),
            authorization: "hook-secret".into(),
            event_types: vec![
                "user.lifecycle.suspend".into(),
                "user.lifecycle.deactivate".into(),
            ],
        }],
        faults: Faults {
            hook_duplicate_rate: 1.0,
            hook_reorder: true,
            ..Faults::default()
        },
        ..options()
    })
    .await;
    let users = acme_users();
    // Written before the hook's first look, so they travel in one batch.
    emulator.set_status(users[0]["id"].as_str().unwrap(), "SUSPENDED");
    emulator.set_status(users[1]["id"].as_str().unwrap(), "DEPROVISIONED");
    let calls = receiver.wait_for(3).await;
    let posts: Vec<&Value> = calls
        .iter()
        .filter(|(m, _, _)| m == "POST")
        .map(|(_, _, b)| b)
        .collect();
    assert_eq!(posts.len(), 2, "delivered twice");
    assert_eq!(posts[0], posts[1], "the same delivery again");
    let types: Vec<&str> = posts[0]["data"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["user.lifecycle.deactivate", "user.lifecycle.suspend"],
        "newest first"
    );
    emulator.stop().await;
    receiver.task.abort();
}
