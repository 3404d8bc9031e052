//! Throttling, replication lag and faults.

use crate::support::*;

async fn statuses(seed: u64, n: usize) -> Vec<u16> {
    let opts = GraphOptions {
        seed,
        faults: FaultOptions {
            server_error_rate: 0.3,
            ..FaultOptions::default()
        },
        ..acme_options()
    };
    let t = Tenant::start(opts).await;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(t.get(&format!("/users/{ADAM}")).await.0.as_u16());
    }
    t.emu.stop().await;
    out
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_then_recovers() {
    let opts = GraphOptions {
        throttle: ThrottleOptions {
            resource_units: 4,
            window: Duration::from_millis(1500),
            ..ThrottleOptions::default()
        },
        ..acme_options()
    };
    let t = Tenant::start(opts).await;
    let send = || t.http.get(t.url("/users")).bearer_auth(&t.token).send();
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: f64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0.0 && retry_after <= 1.5, "{retry_after}");
    assert!(
        resp.headers()["x-ms-throttle-scope"]
            .to_str()
            .unwrap()
            .starts_with("Tenant_Application/")
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");
    tokio::time::sleep(Duration::from_secs_f64(retry_after + 0.05)).await;
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);

    // Batch items are throttled one by one, inside a 200.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let requests: Vec<Value> = (0..4)
        .map(|n| json!({"id": n.to_string(), "method": "GET", "url": "/users"}))
        .collect();
    let (status, body) = t.post("/$batch", json!({"requests": requests})).await;
    assert_eq!(status, StatusCode::OK);
    let throttled: Vec<&Value> = body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == 429)
        .collect();
    assert_eq!(throttled.len(), 2, "{body}");
    assert!(throttled[0]["headers"]["Retry-After"].is_string());
    assert!(t.emu.request_counts()["status 429"] >= 3);
    t.emu.stop().await;
}

#[tokio::test]
async fn replication_lag_hides_new_objects_then_shows_them() {
    let opts = GraphOptions {
        lag: LagOptions {
            new_object: Duration::from_millis(400),
            team_after_group: Duration::from_millis(800),
            ..LagOptions::default()
        },
        ..acme_options()
    };
    let t = Tenant::start(opts).await;
    let (status, created) = t.post("/users", new_user("lagged@acme.example")).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, body) = t.get(&format!("/users/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let listed = ids(&t.all_pages("/users?$select=id").await);
    assert!(!listed.contains(&id));
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(t.get(&format!("/users/{id}")).await.0, StatusCode::OK);
    assert!(ids(&t.all_pages("/users?$select=id").await).contains(&id));

    let (status, group) = t
        .post(
            "/groups",
            json!({"displayName": "Lagged", "mailNickname": "lagged", "mailEnabled": true,
            "securityEnabled": false, "groupTypes": ["Unified"],
            "owners@odata.bind": [format!("https://graph.microsoft.com/v1.0/users/{ADAM}")]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let gid = group["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(t.get(&format!("/groups/{gid}")).await.0, StatusCode::OK);
    let (status, _) = t
        .send(
            reqwest::Method::PUT,
            &format!("/groups/{gid}/team"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the team backend has not seen the group yet"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, team) = t
        .send(
            reqwest::Method::PUT,
            &format!("/groups/{gid}/team"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    assert_eq!(team["id"], json!(gid));
    t.emu.stop().await;
}

#[tokio::test]
async fn faults_are_reproducible_for_a_seed() {
    let a = statuses(42, 40).await;
    assert_eq!(a, statuses(42, 40).await);
    assert_ne!(a, statuses(43, 40).await);
    assert!(a.iter().any(|s| *s == 503 || *s == 504), "{a:?}");
    assert!(a.iter().filter(|s| **s == 200).count() > 15, "{a:?}");
}

#[tokio::test]
async fn faults_reset_connections_and_hold_responses() {
    let t = Tenant::start(GraphOptions {
        faults: FaultOptions {
            reset_rate: 1.0,
            ..FaultOptions::default()
        },
        ..acme_options()
    })
    .await;
    let err = t
        .http
        .get(t.url("/users"))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    t.emu.stop().await;

    let t = Tenant::start(GraphOptions {
        faults: FaultOptions {
            timeout_rate: 1.0,
            timeout_hold: Duration::from_secs(5),
            ..FaultOptions::default()
        },
        ..acme_options()
    })
    .await;
    let err = t
        .http
        .get(t.url("/users"))
        .bearer_auth(&t.token)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    t.emu.stop().await;

    // Batch items fail on their own, the same way for the same seed.
    let run = || async {
        let t = Tenant::start(GraphOptions {
            seed: 9,
            faults: FaultOptions {
                batch_item_failure_rate: 0.5,
                ..FaultOptions::default()
            },
            ..acme_options()
        })
        .await;
        let requests: Vec<Value> = (0..20)
            .map(|n| json!({"id": n.to_string(), "method": "GET", "url": format!("/users/{ADAM}")}))
            .collect();
        let (status, body) = t.post("/$batch", json!({"requests": requests})).await;
        assert_eq!(status, StatusCode::OK);
        let mut by_id: Vec<(u64, u64)> = body["responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().parse().unwrap(),
                    r["status"].as_u64().unwrap(),
                )
            })
            .collect();
        by_id.sort();
        t.emu.stop().await;
        by_id
    };
    let first = run().await;
    assert_eq!(first, run().await);
    assert!(
        first.iter().any(|(_, s)| *s >= 500) && first.iter().any(|(_, s)| *s == 200),
        "{first:?}"
    );
}

#[tokio::test]
async fn a_gateway_timeout_on_a_write_may_have_committed() {
    let t = Tenant::start(GraphOptions {
        seed: 3,
        faults: FaultOptions {
            server_error_rate: 1.0,
            ..FaultOptions::default()
        },
        ..acme_options()
    })
    .await;
    let mut saw = (false, false);
    for n in 0..30 {
        let title = format!("Title {n}");
        let (status, _) = t
            .patch(&format!("/users/{ADAM}"), json!({"jobTitle": title}))
            .await;
        let stored = t.emu.state()["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == ADAM)
            .unwrap()["jobTitle"]
            .clone();
        match status.as_u16() {
            504 => {
                assert_eq!(
                    stored,
                    json!(title),
                    "a 504 is answered after the write committed"
                );
                saw.0 = true;
            }
            503 => {
                assert_ne!(
                    stored,
                    json!(title),
                    "a 503 is answered before doing anything"
                );
                saw.1 = true;
            }
            other => panic!("every request faults at rate 1.0, got {other}"),
        }
    }
    assert_eq!(saw, (true, true));
    t.emu.stop().await;
}

#[tokio::test]
async fn new_groups_refuse_members_for_a_while_and_teams_limit_adds() {
    let t = Tenant::start(GraphOptions {
        lag: LagOptions {
            members_after_group: Duration::from_millis(300),
            ..LagOptions::default()
        },
        throttle: ThrottleOptions {
            team_member_adds_per_minute: Some(2),
            ..ThrottleOptions::default()
        },
        ..acme_options()
    })
    .await;
    let (status, group) = t
        .post(
            "/groups",
            json!({"displayName": "Ops", "mailNickname": "ops2026", "mailEnabled": false,
            "securityEnabled": true, "groupTypes": []}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    assert_eq!(group["mail"], Value::Null);
    let gid = group["id"].as_str().unwrap().to_owned();
    let (status, body) = t
        .post(
            &format!("/groups/{gid}/members/$ref"),
            directory_object(ADAM),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "The source resource object or one of the objects being referenced don't exist."
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        t.post(
            &format!("/groups/{gid}/members/$ref"),
            directory_object(ADAM)
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (_, users) = t
        .get(&format!(
            "/groups/{gid}/members/microsoft.graph.user?$select=id"
        ))
        .await;
    assert_eq!(ids(users["value"].as_array().unwrap()), [ADAM]);
    let (status, _) = t
        .post(
            "/groups",
            json!({"displayName": "Ops again", "mailNickname": "OPS2026", "mailEnabled": true,
            "securityEnabled": false, "groupTypes": ["Unified"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "mailNickname is taken");

    let engineering = "1c440b77-712a-470e-bf93-82bfeb76b887";
    let add = |user: &str| {
        json!({"@odata.type": "#microsoft.graph.aadUserConversationMember", "roles": [],
            "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{user}')")})
    };
    let path = format!("/teams/{engineering}/members");
    assert_eq!(t.post(&path, add(ADAM)).await.0, StatusCode::CREATED);
    assert_eq!(t.post(&path, add(ADAM)).await.0, StatusCode::CREATED);
    let resp = t
        .http
        .post(t.url(&path))
        .bearer_auth(&t.token)
        .json(&add(ADAM))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: f64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 50.0 && wait <= 60.0, "{wait}");
    t.emu.stop().await;
}

#[tokio::test]
async fn injected_faults_hit_exactly_the_requests_they_name() {
    let t = Tenant::start(acme_options()).await;
    let user = format!("/users/{ADAM}");
    t.emu.inject(InjectedFault {
        endpoint: "GET /v1.0/users/{id}".into(),
        fault: FaultKind::TooManyRequests {
            retry_after: Duration::from_millis(1500),
        },
        times: 2,
    });
    for _ in 0..2 {
        let resp = t
            .http
            .get(t.url(&user))
            .bearer_auth(&t.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()["retry-after"], "1.5");
        assert_eq!(
            t.get("/groups?$top=1").await.0,
            StatusCode::OK,
            "other endpoints are untouched"
        );
    }
    assert_eq!(t.get(&user).await.0, StatusCode::OK);

    t.emu.inject(InjectedFault {
        endpoint: "PATCH /v1.0/users/{id}".into(),
        fault: FaultKind::GatewayTimeoutAfterCommit,
        times: 1,
    });
    assert_eq!(
        t.patch(&user, json!({"jobTitle": "Committed"})).await.0,
        StatusCode::GATEWAY_TIMEOUT
    );
    assert_eq!(
        t.get(&format!("{user}?$select=jobTitle")).await.1["jobTitle"],
        "Committed"
    );

    t.emu.inject(InjectedFault {
        endpoint: "*".into(),
        fault: FaultKind::ConnectionReset,
        times: 1,
    });
    assert!(
        t.http
            .get(t.url(&user))
            .bearer_auth(&t.token)
            .send()
            .await
            .is_err()
    );
    assert_eq!(t.get(&user).await.0, StatusCode::OK);

    t.emu.inject(InjectedFault {
        endpoint: "GET /v1.0/users/{id}".into(),
        fault: FaultKind::ServiceUnavailable,
        times: 1,
    });
    let (status, body) = t
        .post("/$batch", json!({"requests": [{"id": "1", "method": "GET", "url": user}, {"id": "2", "method": "GET", "url": "/groups?$top=1"}]}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let item = |id: &str| {
        body["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(item("1"), 503);
    assert_eq!(item("2"), 200);
    assert_eq!(t.emu.request_counts()["fault 429"], 2);
    t.emu.stop().await;
}

#[tokio::test]
async fn updated_objects_read_stale_for_a_while() {
    let t = Tenant::start(GraphOptions {
        lag: LagOptions {
            stale_reads: Duration::from_millis(400),
            ..LagOptions::default()
        },
        ..acme_options()
    })
    .await;
    let user = format!("/users/{ADAM}?$select=jobTitle");
    let (_, before) = t.get(&user).await;
    assert_eq!(
        t.patch(&format!("/users/{ADAM}"), json!({"jobTitle": "Fresh"}))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(&user).await.1["jobTitle"],
        before["jobTitle"],
        "a replica still serves the old version"
    );
    let (_, found) = t.get("/users?$filter=jobTitle eq 'Fresh'&$select=id").await;
    assert_eq!(found["value"], json!([]), "filters see the old version too");
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(t.get(&user).await.1["jobTitle"], "Fresh");
    let (_, found) = t.get("/users?$filter=jobTitle eq 'Fresh'&$select=id").await;
    assert_eq!(ids(found["value"].as_array().unwrap()), [ADAM]);
    t.emu.stop().await;
}
