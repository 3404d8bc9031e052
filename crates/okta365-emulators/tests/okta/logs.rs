//! The System Log: polling with `next`, bounded queries, filters.

use crate::common::*;

#[tokio::test]
async fn log_polling_with_next_sees_appended_events_exactly_once() {
    let emulator = start(options()).await;
    let since = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let mut next = format!(
        "{}/api/v1/logs?since={}&sortOrder=ASCENDING&limit=2",
        emulator.url(),
        since
    );
    let mut seen = Vec::new();
    let users = acme_users();
    let alice = users[0]["id"].as_str().unwrap();
    let group = "00g8GJM89NQLUzCZ94x7";
    for round in 0..6 {
        match round {
            1 => emulator.set_status(alice, "SUSPENDED"),
            2 => {
                emulator.add_member(group, alice);
                emulator.remove_member(group, alice);
                emulator.update_profile(alice, json!({"title": "CTO"}));
            }
            _ => {}
        }
        // Drain what is there: polling pages always carry `next`, even when empty.
        for _ in 0..10 {
            let response = get(&next).await;
            assert_eq!(response.status(), 200);
            next = next_link(&response).expect("a polling page always has a next link");
            let page: Vec<Value> = response.json().await.unwrap();
            if page.is_empty() {
                break;
            }
            seen.extend(page);
        }
    }
    let types: Vec<&str> = seen
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "user.lifecycle.suspend",
            "group.user_membership.add",
            "group.user_membership.remove",
            "user.account.update_profile"
        ]
    );
    let uuids: BTreeSet<&str> = seen.iter().map(|e| e["uuid"].as_str().unwrap()).collect();
    assert_eq!(uuids.len(), 4);
    let membership = &seen[1];
    assert_eq!(membership["version"], "0");
    assert_eq!(membership["outcome"]["result"], "SUCCESS");
    assert!(
        membership["target"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["type"] == "UserGroup")
    );

    let filtered = get(&format!(
        "{}/api/v1/logs?since={since}&filter={}",
        emulator.url(),
        urlencode(r#"eventType eq "group.user_membership.add""#)
    ))
    .await;
    let page: Vec<Value> = filtered.json().await.unwrap();
    assert_eq!(page.len(), 1);

    let bounded = get(&format!(
        "{}/api/v1/logs?since={since}&until={}&sortOrder=DESCENDING",
        emulator.url(),
        jiff::Timestamp::now() + jiff::SignedDuration::from_secs(5)
    ))
    .await;
    assert!(next_link(&bounded).is_none(), "a bounded query ends");
    let page: Vec<Value> = bounded.json().await.unwrap();
    assert_eq!(page[0]["eventType"], "user.account.update_profile");

    let keywords = get(&format!("{}/api/v1/logs?q=suspend%20Okta", emulator.url())).await;
    let page: Vec<Value> = keywords.json().await.unwrap();
    assert_eq!(page.len(), 1, "keywords all match, case-insensitively");
    let eleven = ["k"; 11].join("%20");
    let too_many = get(&format!("{}/api/v1/logs?q={eleven}", emulator.url())).await;
    assert_eq!(too_many.status(), 400);
    let bad = get(&format!(
        "{}/api/v1/logs?filter=published%20gt%20%22x%22",
        emulator.url()
    ))
    .await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000053");
    assert!(
        body.get("errorLink").is_none(),
        "System Log errors carry no errorLink"
    );
    emulator.stop().await;
}

#[tokio::test]
async fn bounded_log_queries_page_by_published_and_end() {
    let emulator = start(options()).await;
    let users = acme_users();
    for user in users.iter().take(5) {
        emulator.set_status(user["id"].as_str().unwrap(), "SUSPENDED");
    }
    let since = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let until = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60);
    let mut next = Some(format!(
        "{}/api/v1/logs?since={since}&until={until}&limit=2",
        emulator.url()
    ));
    let mut pages = 0;
    let mut events = 0;
    while let Some(url) = next.take() {
        assert!(pages < 10, "bounded paging ends");
        let response = get(&url).await;
        assert_eq!(response.status(), 200);
        next = next_link(&response);
        if let Some(next) = &next {
            assert!(next.contains("since="), "Okta's next links keep `since`");
            assert!(next.contains("until="));
        }
        events += response.json::<Vec<Value>>().await.unwrap().len();
        pages += 1;
    }
    assert_eq!((pages, events), (3, 5));
    let polling = get(&format!(
        "{}/api/v1/logs?since={since}&limit=1",
        emulator.url()
    ))
    .await;
    let next = next_link(&polling).expect("polling always has a next link");
    assert!(next.contains("since=") && next.contains("after="));
    let both = get(&next).await;
    assert_eq!(both.status(), 200, "`since` beside the cursor is accepted");
    emulator.stop().await;
}
