//! Writes as Okta's SDKs make them: create, update and delete users and
//! groups, lifecycle operations and memberships, with Okta's validation,
//! statuses and System Log events.

use crate::common::*;

async fn send(method: reqwest::Method, url: &str, body: Option<Value>) -> reqwest::Response {
    let mut request = http()
        .request(method, url)
        .header("Authorization", format!("SSWS {TOKEN}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_user_is_created_updated_deactivated_and_deleted() {
    let emulator = start(options()).await;
    let base = emulator.url();
    let profile = json!({"firstName": "Nia", "lastName": "Park", "email": "nia.park@acme.example",
        "login": "nia.park@acme.example", "mobilePhone": "555-415-1337"});
    let created = send(
        reqwest::Method::POST,
        &format!("{base}/api/v1/users?activate=true"),
        Some(json!({"profile": profile, "credentials": {"password": {"value": "tlpWENT2m9q!"}}})),
    )
    .await;
    assert_eq!(created.status(), 200);
    let user: Value = created.json().await.unwrap();
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(user["status"], "ACTIVE");
    assert_eq!(
        user["credentials"]["password"],
        json!({}),
        "the secret is never returned"
    );
    assert!(user["type"]["id"].as_str().unwrap().starts_with("oty"));
    let again = send(
        reqwest::Method::POST,
        &format!("{base}/api/v1/users"),
        Some(json!({"profile": profile})),
    )
    .await;
    assert_okta_error(again, 400, "E0000001").await;
    let blank = send(
        reqwest::Method::POST,
        &format!("{base}/api/v1/users"),
        Some(json!({"profile": {"login": "x@acme.example"}})),
    )
    .await;
    assert_okta_error(blank, 400, "E0000001").await;

    let updated = send(
        reqwest::Method::POST,
        &format!("{base}/api/v1/users/{id}"),
        Some(json!({"profile": {"title": "Engineer"}})),
    )
    .await;
    assert_eq!(updated.status(), 200);
    let user: Value = updated.json().await.unwrap();
    assert_eq!(user["profile"]["title"], "Engineer");
    assert_eq!(user["profile"]["firstName"], "Nia", "a POST merges");
    let replaced = send(
        reqwest::Method::PUT,
        &format!("{base}/api/v1/users/{id}"),
        Some(json!({"profile": {"firstName": "Nia", "lastName": "Park", "email": "nia.park@acme.example", "login": "nia.park@acme.example"}})),
    )
    .await;
    let user: Value = replaced.json().await.unwrap();
    assert_eq!(user["profile"]["title"], Value::Null, "a PUT replaces");

    let suspend = send(
        reqwest::Method::POST,
        &format!("{base}/api/v1/users/{id}/lifecycle/suspend"),
        None,
    )
    .await;
    assert_eq!(suspend.status(), 200);
    let twice = send(
        reqwest::Method::POST,
        &format!("{base}/api/v1/users/{id}/lifecycle/suspend"),
        None,
    )
    .await;
    assert_okta_error(twice, 400, "E0000001").await;
    let first = send(
        reqwest::Method::DELETE,
        &format!("{base}/api/v1/users/{id}"),
        None,
    )
    .await;
    assert_eq!(first.status(), 204);
    let user: Value = get(&format!("{base}/api/v1/users/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        user["status"], "DEPROVISIONED",
        "a first DELETE deactivates"
    );
    assert!(user["credentials"].get("password").is_none());
    let second = send(
        reqwest::Method::DELETE,
        &format!("{base}/api/v1/users/{id}"),
        None,
    )
    .await;
    assert_eq!(second.status(), 204);
    assert_okta_error(
        get(&format!("{base}/api/v1/users/{id}")).await,
        404,
        "E0000007",
    )
    .await;
    let since = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let logs: Vec<Value> = get(&format!("{base}/api/v1/logs?since={since}&limit=1000"))
        .await
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = emulator_events(&logs);
    for t in [
        "user.lifecycle.create",
        "user.account.update_profile",
        "user.lifecycle.suspend",
        "user.lifecycle.deactivate",
        "user.lifecycle.delete.initiated",
    ] {
        assert!(types.contains(&t), "{t} not in {types:?}");
    }
    emulator.stop().await;
}

fn emulator_events(logs: &[Value]) -> Vec<&str> {
    logs.iter()
        .filter_map(|e| e["eventType"].as_str())
        .collect()
}

#[tokio::test]
async fn a_group_is_created_renamed_given_a_member_and_deleted() {
    let emulator = start(options()).await;
    let base = emulator.url();
    let created = send(
        reqwest::Method::POST,
        &format!("{base}/api/v1/groups"),
        Some(json!({"profile": {"name": "sdk-test", "description": "made by a test"}})),
    )
    .await;
    assert_eq!(created.status(), 200);
    let group: Value = created.json().await.unwrap();
    let gid = group["id"].as_str().unwrap().to_owned();
    assert_eq!(group["type"], "OKTA_GROUP");
    let user = acme_users()[0]["id"].as_str().unwrap().to_owned();
    let add = send(
        reqwest::Method::PUT,
        &format!("{base}/api/v1/groups/{gid}/users/{user}"),
        None,
    )
    .await;
    assert_eq!(add.status(), 204);
    let members: Vec<Value> = get(&format!("{base}/api/v1/groups/{gid}/users"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(members.len(), 1);
    let renamed = send(
        reqwest::Method::PUT,
        &format!("{base}/api/v1/groups/{gid}"),
        Some(json!({"profile": {"name": "sdk-test-2", "description": null}})),
    )
    .await;
    let group: Value = renamed.json().await.unwrap();
    assert_eq!(group["profile"]["name"], "sdk-test-2");
    let remove = send(
        reqwest::Method::DELETE,
        &format!("{base}/api/v1/groups/{gid}/users/{user}"),
        None,
    )
    .await;
    assert_eq!(remove.status(), 204);
    let deleted = send(
        reqwest::Method::DELETE,
        &format!("{base}/api/v1/groups/{gid}"),
        None,
    )
    .await;
    assert_eq!(deleted.status(), 204);
    assert_okta_error(
        get(&format!("{base}/api/v1/groups/{gid}")).await,
        404,
        "E0000007",
    )
    .await;
    emulator.stop().await;
}

#[tokio::test]
async fn writes_need_the_manage_scopes() {
    let emulator = start(oauth_options(false)).await;
    let token_url = format!("{}/oauth2/v1/token", emulator.url());
    let assertion = testing::client_assertion(&CLIENT_RSA, "0oaRsaApp", &token_url, "jti-w1");
    let token: Value = token_request(&emulator, &assertion, "okta.groups.read", None)
        .await
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap();
    let refused = http()
        .post(format!("{}/api/v1/groups", emulator.url()))
        .bearer_auth(access)
        .json(&json!({"profile": {"name": "nope"}}))
        .send()
        .await
        .unwrap();
    assert_okta_error(refused, 403, "E0000006").await;
    emulator.stop().await;
}
