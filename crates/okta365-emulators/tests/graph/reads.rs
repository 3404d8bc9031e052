//! Reads: paging, `$select`, `$filter`, members, SKUs, snapshots, counts.

use crate::support::*;

#[tokio::test]
async fn paging_returns_every_user_and_group_exactly_once() {
    let t = Tenant::start(acme_options()).await;
    let expected = read_json(&acme().join("m365/users.json"));
    let expected: BTreeSet<String> = ids(expected.as_array().unwrap()).into_iter().collect();
    for top in [1, 7, 59, 60, 999] {
        let users = t.all_pages(&format!("/users?$select=id&$top={top}")).await;
        let got = ids(&users);
        let unique: BTreeSet<String> = got.iter().cloned().collect();
        assert_eq!(got.len(), unique.len(), "$top={top}: an object came twice");
        assert_eq!(unique, expected, "$top={top}");
    }
    let (_, first) = t.get("/users").await;
    assert_eq!(
        first["value"].as_array().unwrap().len(),
        60,
        "default page is 100"
    );
    assert!(
        first["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/v1.0/$metadata#users")
    );
    let groups = t.all_pages("/groups?$top=4").await;
    assert_eq!(groups.len(), 16);
    let (status, body) = t.get("/users?$top=1000").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
    let (status, body) = t.get("/users?$skiptoken=made-up").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    t.emu.stop().await;
}

#[tokio::test]
async fn select_trims_to_the_selection_and_defaults_hide_the_rest() {
    let t = Tenant::start(acme_options()).await;
    let (_, body) = t
        .get("/users?%24select=displayName,accountEnabled&$top=3")
        .await;
    assert!(
        body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#users(displayName,accountEnabled)")
    );
    for user in body["value"].as_array().unwrap() {
        let keys: BTreeSet<&str> = user
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["accountEnabled", "displayName", "id"].into());
    }
    let (_, body) = t.get("/users/adam.kowalski@acme.example").await;
    assert_eq!(body["id"], "7bbf51cc-f599-43bd-82ce-6d4a6e065232");
    assert_eq!(
        body.as_object().unwrap().len(),
        12,
        "11 default properties + @odata.context: {body}"
    );
    assert!(body.get("accountEnabled").is_none() && body.get("usageLocation").is_none());
    let (_, body) = t
        .get("/users/7bbf51cc-f599-43bd-82ce-6d4a6e065232?$select=usageLocation,employeeId,city")
        .await;
    assert_eq!(body["usageLocation"], "DE");
    assert_eq!(body["employeeId"], "100098");
    assert_eq!(
        body["city"],
        Value::Null,
        "a known but unset property is null"
    );
    let (status, body) = t.get("/users?$select=favouriteColour").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("favouriteColour")
    );
    let (status, body) = t.get("/users/nobody@acme.example").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    t.emu.stop().await;
}

#[tokio::test]
async fn filters_match_like_graph_and_advanced_clauses_need_the_opt_in() {
    let t = Tenant::start(acme_options()).await;
    let (_, body) = t
        .get("/users?$filter=userPrincipalName eq 'ADAM.KOWALSKI@acme.example'&$select=id")
        .await;
    assert_eq!(
        ids(body["value"].as_array().unwrap()),
        ["7bbf51cc-f599-43bd-82ce-6d4a6e065232"]
    );
    let (_, body) = t
        .get("/users?$filter=mail eq 'adam.kowalski@acme.example'")
        .await;
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    let (_, body) = t.get("/users?$filter=onPremisesExtensionAttributes/extensionAttribute15 eq '00uy4A1OnEdt3tShH4x7'").await;
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    let (_, body) = t
        .get("/users?$filter=id in ('7bbf51cc-f599-43bd-82ce-6d4a6e065232', '00000000-0000-0000-0000-000000000000')")
        .await;
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    let (_, body) = t
        .get("/groups?$filter=mailNickname eq 'engineering'&$select=id,displayName")
        .await;
    assert_eq!(body["value"][0]["displayName"], "Engineering");

    let (status, body) = t.get("/users?$filter=userType ne 'Guest'").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
    let resp = t
        .http
        .get(t.url("/users?$filter=userType ne 'Guest'&$count=true&$top=5"))
        .bearer_auth(&t.token)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    let count = body["@odata.count"].as_u64().unwrap();
    let users = read_json(&acme().join("m365/users.json"));
    let members = users
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["userType"] != "Guest")
        .count();
    assert_eq!(count as usize, members);
    let (status, body) = t.get("/users?$search=\"displayName:kowal\"").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ConsistencyLevel: eventual")
    );
    let resp = t
        .http
        .get(t.url("/users?$search=\"displayName:kowal\"&$select=id"))
        .bearer_auth(&t.token)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(ids(body["value"].as_array().unwrap()), [ADAM]);
    let (_, body) = t.get("/users?$count=true").await;
    assert!(
        body.get("@odata.count").is_none(),
        "$count without ConsistencyLevel is ignored"
    );
    t.emu.stop().await;
}

#[tokio::test]
async fn members_and_owners_page_with_types_and_select() {
    let t = Tenant::start(acme_options()).await;
    let all_staff = "275f29ee-f9f1-45ff-82e4-033591bd819e";
    let expected = read_json(&acme().join("m365/group-members.json"));
    let expected: BTreeSet<String> = expected[all_staff]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let members = t
        .all_pages(&format!("/groups/{all_staff}/members?$select=id&$top=10"))
        .await;
    let got: BTreeSet<String> = ids(&members).into_iter().collect();
    assert_eq!(got.len(), members.len());
    assert_eq!(got, expected);
    for m in &members {
        assert_eq!(m["@odata.type"], "#microsoft.graph.user");
        assert_eq!(m.as_object().unwrap().len(), 2, "{m}");
    }
    let (_, owners) = t.get(&format!("/groups/{all_staff}/owners")).await;
    assert!(
        owners["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#directoryObjects")
    );
    assert_eq!(owners["value"].as_array().unwrap().len(), 2);
    assert!(owners["value"][0]["userPrincipalName"].is_string());
    let (status, _) = t
        .get("/groups/00000000-0000-0000-0000-000000000000/members")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    t.emu.stop().await;
}

#[tokio::test]
async fn subscribed_skus_come_as_graph_returns_them() {
    let t = Tenant::start(acme_options()).await;
    let (status, body) = t.get("/subscribedSkus").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["value"],
        read_json(&acme().join("m365/subscribedSkus.json"))
    );
    let (_, body) = t
        .get("/subscribedSkus?$select=skuPartNumber,consumedUnits")
        .await;
    assert_eq!(body["value"][0].as_object().unwrap().len(), 3);
    t.emu.stop().await;
}

#[tokio::test]
async fn write_snapshot_round_trips() {
    let t = Tenant::start(acme_options()).await;
    let out = tempfile::tempdir().unwrap();
    t.emu.write_snapshot(out.path()).unwrap();
    for file in [
        "users.json",
        "groups.json",
        "group-members.json",
        "group-owners.json",
        "subscribedSkus.json",
    ] {
        let original = read_json(&acme().join("m365").join(file));
        let written = read_json(&out.path().join("m365").join(file));
        if original.is_array() {
            let sort = |v: &Value| {
                let mut items = v.as_array().unwrap().clone();
                items.sort_by_key(|i| i["id"].as_str().unwrap_or("").to_owned());
                items
            };
            assert_eq!(sort(&written), sort(&original), "{file}");
        } else {
            assert_eq!(written, original, "{file}");
        }
    }
    let again = GraphEmulator::start(GraphOptions {
        snapshot: Some(out.path().to_path_buf()),
        ..GraphOptions::default()
    })
    .await
    .unwrap();
    assert_eq!(again.state(), t.emu.state());
    again.stop().await;
    t.emu.stop().await;
}

#[tokio::test]
async fn requests_are_counted_per_endpoint() {
    let t = Tenant::start(acme_options()).await;
    t.get("/users/7bbf51cc-f599-43bd-82ce-6d4a6e065232").await;
    t.get("/users/adam.kowalski@acme.example").await;
    t.get("/groups").await;
    let counts = t.emu.request_counts();
    assert_eq!(counts["GET /v1.0/users/{id}"], 2);
    assert_eq!(counts["GET /v1.0/groups"], 1);
    assert_eq!(counts["POST /{tenant}/oauth2/v2.0/token"], 1);
    assert_eq!(counts["total"], 4);
    let debug: Value = t
        .http
        .get(format!("{}/_emulator/requests", t.emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(debug["GET /v1.0/users/{id}"], 2);
    t.emu.stop().await;
}

/// A synthetic tenant of `n` users, all in one security group.
fn large_snapshot(dir: &Path, n: usize) {
    let m365 = dir.join("m365");
    std::fs::create_dir_all(&m365).unwrap();
    let users: Vec<Value> = (0..n)
        .map(|i| {
            json!({"id": format!("00000000-0000-4000-8000-{i:012}"), "displayName": format!("User {i}"),
                "userPrincipalName": format!("user{i}@big.example"), "mail": format!("user{i}@big.example"),
                "businessPhones": [], "accountEnabled": true, "usageLocation": "US", "userType": "Member",
                "assignedLicenses": [], "licenseAssignmentStates": []})
        })
        .collect();
    let ids: Vec<&Value> = users.iter().map(|u| &u["id"]).collect();
    let group = "10000000-0000-4000-8000-000000000000";
    let write = |name: &str, v: &Value| std::fs::write(m365.join(name), v.to_string()).unwrap();
    write("users.json", &json!(users));
    write(
        "groups.json",
        &json!([{"id": group, "displayName": "Everyone", "mailNickname": "everyone",
        "mailEnabled": false, "securityEnabled": true, "groupTypes": []}]),
    );
    write("group-members.json", &json!({group: ids}));
    write("group-owners.json", &json!({}));
    write("subscribedSkus.json", &json!([]));
}

#[tokio::test]
async fn paging_covers_ten_thousand_users_and_members() {
    let dir = tempfile::tempdir().unwrap();
    large_snapshot(dir.path(), 10_000);
    let t = Tenant::start(GraphOptions {
        snapshot: Some(dir.path().to_path_buf()),
        ..GraphOptions::default()
    })
    .await;
    let started = std::time::Instant::now();
    let users = t
        .all_pages("/users?$select=id,userPrincipalName&$top=999")
        .await;
    let users_took = started.elapsed();
    let started = std::time::Instant::now();
    let members = t
        .all_pages("/groups/10000000-0000-4000-8000-000000000000/members?$select=id&$top=999")
        .await;
    let members_took = started.elapsed();
    let unique: BTreeSet<String> = ids(&users).into_iter().collect();
    assert_eq!((users.len(), unique.len()), (10_000, 10_000));
    let unique: BTreeSet<String> = ids(&members).into_iter().collect();
    assert_eq!((members.len(), unique.len()), (10_000, 10_000));
    eprintln!("10k users in {users_took:?}, 10k members in {members_took:?} (11 pages each)");
    t.emu.stop().await;
}

#[tokio::test]
async fn concurrent_pagers_see_every_existing_user_once_while_others_write() {
    let t = std::sync::Arc::new(Tenant::start(acme_options()).await);
    let expected: BTreeSet<String> = ids(read_json(&acme().join("m365/users.json"))
        .as_array()
        .unwrap())
    .into_iter()
    .collect();
    let writer = {
        let t = t.clone();
        tokio::spawn(async move {
            for n in 0..30 {
                let body = json!({"accountEnabled": true, "displayName": format!("W {n}"), "mailNickname": format!("w{n}"),
                    "userPrincipalName": format!("w{n}@acme.example"),
                    "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}});
                assert_eq!(t.post("/users", body).await.0, StatusCode::CREATED);
            }
        })
    };
    let pagers: Vec<_> = (0..8)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { ids(&t.all_pages("/users?$select=id&$top=7").await) })
        })
        .collect();
    for pager in pagers {
        let seen = pager.await.unwrap();
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(seen.len(), unique.len(), "no object twice");
        assert!(
            expected.is_subset(&unique),
            "every user that existed throughout was seen"
        );
    }
    writer.await.unwrap();
    assert_eq!(t.all_pages("/users?$select=id&$top=999").await.len(), 90);
}

#[tokio::test]
async fn orderby_sorts_across_pages_and_needs_the_opt_in_with_a_filter() {
    let t = Tenant::start(acme_options()).await;
    let users = t
        .all_pages("/users?$orderby=displayName desc&$select=displayName&$top=9")
        .await;
    assert_eq!(users.len(), 60);
    let names: Vec<String> = users
        .iter()
        .map(|u| u["displayName"].as_str().unwrap_or("").to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, sorted, "descending across every page");
    let unique: BTreeSet<String> = ids(&users).into_iter().collect();
    assert_eq!(unique.len(), 60);
    let (status, body) = t
        .get("/users?$orderby=displayName&$filter=accountEnabled eq true")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["error"]["message"],
        "Sorting not supported for current query."
    );
    t.emu.stop().await;
}

#[tokio::test]
async fn expand_inlines_at_most_twenty_related_objects() {
    let t = Tenant::start(acme_options()).await;
    let all_staff = read_json(&acme().join("m365/group-members.json"))[ALL_STAFF]
        .as_array()
        .unwrap()
        .len();
    assert!(all_staff > 20);
    let (_, group) = t
        .get(&format!("/groups/{ALL_STAFF}?$expand=members($select=id)"))
        .await;
    let members = group["members"].as_array().unwrap();
    assert_eq!(
        members.len(),
        20,
        "directory $expand stops at 20, without a nextLink"
    );
    assert_eq!(members[0].as_object().unwrap().len(), 2, "{}", members[0]);
    assert_eq!(members[0]["@odata.type"], "#microsoft.graph.user");
    let (_, groups) = t.get("/groups?$select=id&$expand=owners&$top=3").await;
    assert!(
        groups["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["owners"].is_array())
    );

    let manager = "eac47095-3ed8-4be5-95ae-b24b0e15ba87";
    t.send(
        reqwest::Method::PUT,
        &format!("/users/{ADAM}/manager/$ref"),
        Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{manager}")})),
    )
    .await;
    let (_, user) = t
        .get(&format!(
            "/users/{ADAM}?$select=id&$expand=manager($select=id,displayName)"
        ))
        .await;
    assert_eq!(user["manager"]["id"], manager);
    assert_eq!(user["manager"].as_object().unwrap().len(), 3);
    let (status, _) = t.get("/users?$expand=favouriteThings").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let resp = t
        .http
        .get(t.url("/users?$expand=manager&$count=true"))
        .bearer_auth(&t.token)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::BAD_REQUEST,
        "$expand is not allowed with advanced queries"
    );
    t.emu.stop().await;
}
