//! `$batch` and delta queries.

use crate::support::*;

#[tokio::test]
async fn batch_items_have_their_own_status_headers_and_dependencies() {
    let t = Tenant::start(acme_options()).await;
    let (status, body) = t
        .post(
            "/$batch",
            json!({"requests": [
                {"id": "1", "method": "GET", "url": format!("/users/{ADAM}?$select=id,displayName")},
                {"id": "2", "method": "PATCH", "url": format!("/users/{ADAM}"), "headers": {"Content-Type": "application/json"}, "body": {"jobTitle": "Staff Engineer"}},
                {"id": "3", "method": "GET", "url": "/users/nobody@acme.example"},
                {"id": "4", "dependsOn": ["3"], "method": "POST", "url": format!("/users/{ADAM}/revokeSignInSessions")},
                {"id": "5", "dependsOn": ["2"], "method": "GET", "url": format!("https://graph.microsoft.com/v1.0/users/{ADAM}?$select=jobTitle")},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let responses = body["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 5);
    let item = |id: &str| responses.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(item("1")["status"], 200);
    assert_eq!(item("1")["body"]["displayName"], "Adam Kowalski");
    assert!(
        item("1")["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(item("2")["status"], 204);
    assert_eq!(item("3")["status"], 404);
    assert_eq!(
        item("3")["body"]["error"]["code"],
        "Request_ResourceNotFound"
    );
    assert_eq!(item("4")["status"], 424);
    assert_eq!(item("5")["status"], 200);
    assert_eq!(item("5")["body"]["jobTitle"], "Staff Engineer");

    let too_many: Vec<Value> = (0..21)
        .map(|n| json!({"id": n.to_string(), "method": "GET", "url": "/users"}))
        .collect();
    assert_eq!(
        t.post("/$batch", json!({"requests": too_many})).await.0,
        StatusCode::BAD_REQUEST
    );
    let dup = json!({"requests": [{"id": "a", "method": "GET", "url": "/users"}, {"id": "A", "method": "GET", "url": "/groups"}]});
    assert_eq!(t.post("/$batch", dup).await.0, StatusCode::BAD_REQUEST);
    let no_type = json!({"requests": [{"id": "1", "method": "PATCH", "url": format!("/users/{ADAM}"), "body": {"jobTitle": "x"}}]});
    assert_eq!(t.post("/$batch", no_type).await.0, StatusCode::BAD_REQUEST);
    let counts = t.emu.request_counts();
    assert_eq!(
        counts["GET /v1.0/users/{id}"], 3,
        "batch items are counted under their own path"
    );
    t.emu.stop().await;
}

#[tokio::test]
async fn delta_rounds_report_changes_removals_and_membership() {
    let opts = GraphOptions {
        delta_page_size: 25,
        ..acme_options()
    };
    let t = Tenant::start(opts).await;
    // Initial round: pages of 25, then a deltaLink.
    let mut next = t.url("/users/delta?$select=displayName,jobTitle");
    let mut seen = Vec::new();
    let delta_link = loop {
        let (status, body) = t.get(&next).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        seen.extend(body["value"].as_array().unwrap().iter().cloned());
        if let Some(link) = body["@odata.deltaLink"].as_str() {
            break link.to_owned();
        }
        next = body["@odata.nextLink"].as_str().unwrap().to_owned();
        assert!(seen.len() <= 60);
    };
    assert_eq!(seen.len(), 60);
    assert_eq!(
        seen[0].as_object().unwrap().len(),
        3,
        "id + the selection: {}",
        seen[0]
    );

    let (_, created) = t.post("/users", new_user("delta.new@acme.example")).await;
    let new_id = created["id"].as_str().unwrap().to_owned();
    t.patch(
        &format!("/users/{ADAM}"),
        json!({"jobTitle": "Principal Engineer"}),
    )
    .await;
    let gone = "eac47095-3ed8-4be5-95ae-b24b0e15ba87";
    t.delete(&format!("/users/{gone}")).await;
    let (_, body) = t.get(&delta_link).await;
    let changes = body["value"].as_array().unwrap();
    assert_eq!(changes.len(), 3, "{body}");
    let find = |id: &str| changes.iter().find(|c| c["id"] == id).unwrap();
    assert_eq!(find(ADAM)["jobTitle"], "Principal Engineer");
    assert_eq!(find(&new_id)["displayName"], "delta.new@acme.example");
    assert_eq!(find(gone)["@removed"]["reason"], "changed");
    let next_link = body["@odata.deltaLink"].as_str().unwrap().to_owned();
    let (_, body) = t.get(&next_link).await;
    assert_eq!(body["value"], json!([]), "nothing changed since");

    // Unselected properties don't surface; `Prefer: return=minimal` trims to what changed.
    t.patch(
        &format!("/users/{ADAM}"),
        json!({"officeLocation": "Lisbon"}),
    )
    .await;
    let (_, body) = t.get(&next_link).await;
    assert_eq!(
        body["value"],
        json!([]),
        "officeLocation is not selected: {body}"
    );
    let next_link = body["@odata.deltaLink"].as_str().unwrap().to_owned();
    t.patch(
        &format!("/users/{ADAM}"),
        json!({"jobTitle": "Distinguished Engineer"}),
    )
    .await;
    let resp = t
        .http
        .get(&next_link)
        .bearer_auth(&t.token)
        .header("Prefer", "return=minimal")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["preference-applied"], "return=minimal");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["value"],
        json!([{"id": ADAM, "jobTitle": "Distinguished Engineer"}])
    );
    let next_link = body["@odata.deltaLink"].as_str().unwrap().to_owned();

    let (status, body) = t.get("/users/delta?$deltatoken=not-a-token").await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    t.emu.expire_delta_tokens();
    assert_eq!(t.get(&next_link).await.0, StatusCode::GONE);

    // Groups: members@delta reports additions and removals.
    let (_, body) = t
        .get("/groups/delta?$select=displayName,members&$deltatoken=latest")
        .await;
    assert_eq!(body["value"], json!([]));
    let link = body["@odata.deltaLink"].as_str().unwrap().to_owned();
    t.post(
        &format!("/groups/{ALL_STAFF}/members/$ref"),
        directory_object(&new_id),
    )
    .await;
    let staff = read_json(&acme().join("m365/group-members.json"));
    let leaver = staff[ALL_STAFF][0].as_str().unwrap();
    assert_eq!(
        t.delete(&format!("/groups/{ALL_STAFF}/members/{leaver}/$ref"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, body) = t.get(&link).await;
    let items = body["value"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{body}");
    let delta = items[0]["members@delta"].as_array().unwrap();
    let entry = |id: &str| delta.iter().find(|m| m["id"] == id).unwrap();
    assert!(entry(&new_id).get("@removed").is_none());
    assert_eq!(entry(leaver)["@removed"]["reason"], "deleted");
    t.emu.stop().await;
}

#[tokio::test]
async fn delta_filters_on_ids_only() {
    let t = Tenant::start(acme_options()).await;
    let other = "eac47095-3ed8-4be5-95ae-b24b0e15ba87";
    let (status, body) = t
        .get(&format!(
            "/users/delta?$select=jobTitle&$filter=id eq '{ADAM}' or id eq '{other}'"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first: BTreeSet<String> = ids(body["value"].as_array().unwrap()).into_iter().collect();
    assert_eq!(first, [ADAM.to_owned(), other.to_owned()].into());
    let link = body["@odata.deltaLink"].as_str().unwrap().to_owned();
    t.patch(&format!("/users/{ADAM}"), json!({"jobTitle": "Tracked"}))
        .await;
    let (_, someone) = t
        .get("/users?$filter=userPrincipalName eq 'breakglass-admin@acme.example'&$select=id")
        .await;
    let untracked = someone["value"][0]["id"].as_str().unwrap().to_owned();
    t.patch(
        &format!("/users/{untracked}"),
        json!({"jobTitle": "Untracked"}),
    )
    .await;
    let (_, body) = t.get(&link).await;
    assert_eq!(ids(body["value"].as_array().unwrap()), [ADAM], "{body}");
    let (status, _) = t
        .get("/users/delta?$filter=mail eq 'adam.kowalski@acme.example'")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    t.emu.stop().await;
}
