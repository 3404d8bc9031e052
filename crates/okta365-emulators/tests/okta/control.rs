//! In-process and HTTP mutations, request counts, loopback only.

use crate::common::*;

#[tokio::test]
async fn control_endpoints_mutate_the_org_and_report_request_counts() {
    let emulator = start(options()).await;
    let base = emulator.url();
    let created: Value = http()
        .post(format!("{base}/_emulator/users"))
        .json(&json!({"profile": {"login": "c@acme.example", "firstName": "C", "lastName": "D"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let status = http()
        .put(format!("{base}/_emulator/users/{id}/status"))
        .json(&json!({"status": "ACTIVE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    let member = http()
        .put(format!(
            "{base}/_emulator/groups/00g8GJM89NQLUzCZ94x7/users/{id}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(member.status(), 200);
    let missing = http()
        .put(format!("{base}/_emulator/groups/00gNone/users/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let user: Value = get(&format!("{base}/api/v1/users/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["status"], "ACTIVE");
    let groups: Vec<Value> = get(&format!("{base}/api/v1/users/{id}/groups"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    let counts: Value = http()
        .get(format!("{base}/_emulator/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counts["GET /api/v1/users/{id}"], 1);
    assert_eq!(counts["GET /api/v1/users/{id}/groups"], 1);
    assert!(
        counts.get("POST /_emulator/users").is_none(),
        "control calls are not counted"
    );
    emulator.stop().await;
}

#[tokio::test]
async fn only_loopback_addresses_are_accepted() {
    let refused = OktaEmulator::start_on("0.0.0.0:0".parse().unwrap(), options()).await;
    assert!(refused.unwrap_err().contains("loopback only"));
}

#[tokio::test]
async fn mutations_are_visible_through_the_in_process_accessors() {
    let emulator = start(options()).await;
    let id = emulator.add_user(json!({"profile": {"login": "x@acme.example"}}));
    emulator.update_profile(&id, json!({"department": "Ops"}));
    let user = emulator.user(&id).expect("the new user is stored");
    assert_eq!(user["profile"]["department"], "Ops");
    assert_eq!(user["status"], "STAGED");
    assert!(emulator.user("00uNobody").is_none());
    let types: Vec<String> = emulator
        .events()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        ["user.lifecycle.create", "user.account.update_profile"]
    );
    emulator.stop().await;
}
