//! Users, groups and members: lists, search, filter, paging, sorting, consistency.

use crate::common::*;

#[tokio::test]
async fn a_plain_list_omits_deprovisioned_users_while_search_returns_them() {
    let emulator = start(options()).await;
    let users = acme_users();
    let deprovisioned: BTreeSet<String> = users
        .iter()
        .filter(|u| u["status"] == "DEPROVISIONED")
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !deprovisioned.is_empty(),
        "the acme example has deactivated users"
    );
    let listed = collect_ids(format!("{}/api/v1/users", emulator.url())).await;
    assert_eq!(listed.len(), users.len() - deprovisioned.len());
    assert!(listed.iter().all(|id| !deprovisioned.contains(id)));

    let search = |expr: &str| format!("{}/api/v1/users?search={}", emulator.url(), urlencode(expr));
    let found: BTreeSet<String> = collect_ids(search(r#"status eq "DEPROVISIONED""#))
        .await
        .into_iter()
        .collect();
    assert_eq!(found, deprovisioned);
    let everyone = collect_ids(search("status pr")).await;
    assert_eq!(everyone.len(), users.len());
    let either = collect_ids(search(r#"status eq "ACTIVE" or status eq "DEPROVISIONED""#)).await;
    let active = users.iter().filter(|u| u["status"] == "ACTIVE").count();
    assert_eq!(either.len(), active + deprovisioned.len());
    let filtered = collect_ids(format!(
        "{}/api/v1/users?filter={}",
        emulator.url(),
        urlencode(r#"status eq "DEPROVISIONED""#)
    ))
    .await;
    assert_eq!(filtered.len(), deprovisioned.len());
    // Okta's published answers: an operator the attribute does not take has
    // no cause; a search that does not parse has one, "Invalid search syntax.".
    let bad = get(&search(r#"status ne "ACTIVE""#)).await;
    let body = assert_okta_error(bad, 400, "E0000031").await;
    assert_eq!(body["errorSummary"], "Invalid search criteria.");
    assert_eq!(body["errorCauses"], serde_json::json!([]));
    let unparsed = get(&search(r#"status eq "ACTIVE" and"#)).await;
    let body = assert_okta_error(unparsed, 400, "E0000031").await;
    assert_eq!(
        body["errorCauses"],
        serde_json::json!([{"errorSummary": "Invalid search syntax."}])
    );
    emulator.stop().await;
}

#[tokio::test]
async fn paging_with_link_headers_covers_each_user_exactly_once() {
    let emulator = start(options()).await;
    let users = acme_users();
    let first = get(&format!("{}/api/v1/users?limit=7", emulator.url())).await;
    let links: Vec<String> = first
        .headers()
        .get_all("link")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(links.len(), 2, "self then next, as two headers");
    assert!(links[0].ends_with("rel=\"self\"") && links[1].ends_with("rel=\"next\""));
    let page: Vec<Value> = first.json().await.unwrap();
    assert_eq!(page.len(), 7);
    assert_eq!(
        page[0]["_links"].as_object().unwrap().len(),
        1,
        "collections carry only self"
    );

    let ids = collect_ids(format!(
        "{}/api/v1/users?limit=7&search=status%20pr",
        emulator.url()
    ))
    .await;
    let unique: BTreeSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), users.len());
    assert_eq!(unique.len(), users.len(), "no user twice");

    let groups = collect_ids(format!("{}/api/v1/groups?limit=4", emulator.url())).await;
    assert_eq!(groups.len(), 15);
    let everyone = "00gB5Rdz2G5b6lr1I4x7";
    let members = collect_ids(format!(
        "{}/api/v1/groups/{everyone}/users?limit=10",
        emulator.url()
    ))
    .await;
    assert_eq!(members.len(), 61);
    assert_eq!(members.iter().collect::<BTreeSet<_>>().len(), 61);
    let no_group = get(&format!("{}/api/v1/groups/00gNone/users", emulator.url())).await;
    assert_okta_error(no_group, 404, "E0000007").await;
    emulator.stop().await;
}

#[tokio::test]
async fn full_user_objects_keep_custom_profile_attributes() {
    let emulator = start(options()).await;
    let id = emulator.add_user(json!({
        "status": "ACTIVE",
        "profile": {"login": "new.hire@acme.example", "firstName": "New", "lastName": "Hire",
                    "email": "new.hire@acme.example", "o365License": ["E3"], "costCenterCode": 4711}
    }));
    let response = get(&format!("{}/api/v1/users/{id}", emulator.url())).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("etag"));
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["profile"]["o365License"], json!(["E3"]));
    assert_eq!(user["profile"]["costCenterCode"], 4711);
    assert!(user["type"]["id"].as_str().unwrap().starts_with("oty"));
    assert_eq!(user["profile"]["secondEmail"], Value::Null);
    assert!(user["profile"].get("mobilePhone").is_some());
    assert!(
        user["_links"]["suspend"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/lifecycle/suspend")
    );
    let by_login = get(&format!(
        "{}/api/v1/users/new.hire@acme.example",
        emulator.url()
    ))
    .await;
    assert_eq!(by_login.json::<Value>().await.unwrap()["id"], id.as_str());
    emulator.stop().await;
}

#[tokio::test]
async fn group_search_filter_and_stats_follow_okta() {
    let emulator = start(options()).await;
    let base = emulator.url();
    let built_in = collect_ids(format!(
        "{base}/api/v1/groups?search={}",
        urlencode(r#"type eq "BUILT_IN""#)
    ))
    .await;
    assert_eq!(built_in, ["00gB5Rdz2G5b6lr1I4x7"]);
    let by_filter = collect_ids(format!(
        "{base}/api/v1/groups?filter={}",
        urlencode(r#"type eq "BUILT_IN""#)
    ))
    .await;
    assert_eq!(by_filter, built_in);
    let refused = get(&format!(
        "{base}/api/v1/groups?filter={}",
        urlencode(r#"profile.name eq "x""#)
    ))
    .await;
    let body = assert_okta_error(refused, 400, "E0000031").await;
    assert_eq!(
        body["errorCauses"],
        serde_json::json!([]),
        "as Okta answers a filter it does not take"
    );
    let stats: Vec<Value> = get(&format!("{base}/api/v1/groups?q=Every&expand=stats"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0]["_embedded"]["stats"]["usersCount"], 61);
    let group: Value = get(&format!("{base}/api/v1/groups/00gB5Rdz2G5b6lr1I4x7"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(group["profile"]["name"], "Everyone");
    assert!(
        group["_links"]["users"]["href"]
            .as_str()
            .unwrap()
            .starts_with(&base)
    );
    emulator.stop().await;
}

#[tokio::test]
async fn incremental_reads_filter_on_last_updated() {
    let emulator = start(options()).await;
    let users = acme_users();
    let cutoff = "2026-11-01T00:00:00.000Z";
    let expected = users
        .iter()
        .filter(|u| u["lastUpdated"].as_str().unwrap() > cutoff)
        .count();
    let filter = urlencode(&format!(r#"lastUpdated gt "{cutoff}""#));
    let changed = collect_ids(format!(
        "{}/api/v1/users?filter={filter}&limit=5",
        emulator.url()
    ))
    .await;
    assert_eq!(changed.len(), expected);
    emulator.update_profile(users[0]["id"].as_str().unwrap(), json!({"title": "CTO"}));
    let after = collect_ids(format!("{}/api/v1/users?filter={filter}", emulator.url())).await;
    let first_was_changed = users[0]["lastUpdated"].as_str().unwrap() > cutoff;
    assert_eq!(after.len(), expected + usize::from(!first_was_changed));
    emulator.stop().await;
}

#[tokio::test]
async fn sorted_searches_page_in_order() {
    let emulator = start(options()).await;
    let url = format!(
        "{}/api/v1/users?search=status%20pr&sortBy=profile.lastName&sortOrder=desc&limit=7",
        emulator.url()
    );
    let mut next = Some(url);
    let mut names = Vec::new();
    for _ in 0..20 {
        let Some(url) = next.take() else { break };
        let response = get(&url).await;
        assert_eq!(response.status(), 200);
        next = next_link(&response);
        let page: Vec<Value> = response.json().await.unwrap();
        names.extend(
            page.iter()
                .map(|u| u["profile"]["lastName"].as_str().unwrap().to_lowercase()),
        );
    }
    assert_eq!(names.len(), acme_users().len());
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, sorted);
    let unsearched = get(&format!("{}/api/v1/users?sortBy=id", emulator.url())).await;
    assert_okta_error(unsearched, 400, "E0000031").await;
    emulator.stop().await;
}

#[tokio::test]
async fn search_is_eventually_consistent_while_reads_by_id_are_current() {
    let lag = Duration::from_secs(2);
    let emulator = start(OktaOptions {
        search_lag: lag,
        ..options()
    })
    .await;
    let users = acme_users();
    let leaver = users.iter().find(|u| u["status"] == "ACTIVE").unwrap()["id"]
        .as_str()
        .unwrap();
    let joiner =
        emulator.add_user(json!({"status": "ACTIVE", "profile": {"login": "j@acme.example"}}));
    emulator.set_status(leaver, "DEPROVISIONED");
    let deprovisioned = format!(
        "{}/api/v1/users?search={}",
        emulator.url(),
        urlencode(r#"status eq "DEPROVISIONED""#)
    );
    let everyone = format!("{}/api/v1/users?search=status%20pr", emulator.url());
    let stale = collect_ids(deprovisioned.clone()).await;
    assert!(
        !stale.iter().any(|id| id == leaver),
        "the index has not caught up yet"
    );
    assert!(!collect_ids(everyone.clone()).await.contains(&joiner));
    let by_id: Value = get(&format!("{}/api/v1/users/{leaver}", emulator.url()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_id["status"], "DEPROVISIONED", "a read by id is current");
    tokio::time::sleep(lag + Duration::from_millis(200)).await;
    assert!(
        collect_ids(deprovisioned)
            .await
            .iter()
            .any(|id| id == leaver)
    );
    assert!(collect_ids(everyone).await.contains(&joiner));
    emulator.stop().await;
}

#[tokio::test]
async fn a_full_last_page_can_link_to_an_empty_one() {
    let emulator = start(OktaOptions {
        full_page_next: true,
        ..options()
    })
    .await;
    let groups = collect_ids(format!("{}/api/v1/groups?limit=5", emulator.url())).await;
    assert_eq!(groups.len(), 15);
    assert_eq!(
        emulator.request_counts()["GET /api/v1/groups"],
        4,
        "three full pages, then an empty one without next"
    );
    emulator.stop().await;
}
