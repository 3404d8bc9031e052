//! Writes: users, membership rules, licences, guests, sessions, managers.

use crate::support::*;

#[tokio::test]
async fn users_are_created_validated_updated_deleted_and_restored() {
    let t = Tenant::start(acme_options()).await;
    let mut body = new_user("new.person@acme.example");
    body.as_object_mut().unwrap().remove("passwordProfile");
    let (status, err) = t.post("/users", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("passwordProfile"),
        "{err}"
    );
    let mut weak = new_user("new.person@acme.example");
    weak["passwordProfile"]["password"] = json!("password");
    assert_eq!(t.post("/users", weak).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        t.post("/users", new_user("x@unverified.example")).await.0,
        StatusCode::BAD_REQUEST
    );

    let mut taken_mail = new_user("someone.else@acme.example");
    taken_mail["mail"] = json!("Adam.Kowalski@acme.example");
    let (status, err) = t.post("/users", taken_mail).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["error"]["details"][0]["target"], "proxyAddresses",
        "{err}"
    );
    let (status, created) = t.post("/users", new_user("new.person@acme.example")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(created.get("passwordProfile").is_none());
    let (status, conflict) = t.post("/users", new_user("NEW.PERSON@acme.example")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(conflict["error"]["code"], "Request_BadRequest");
    assert_eq!(
        conflict["error"]["message"],
        "Another object with the same value for property userPrincipalName already exists."
    );
    assert_eq!(conflict["error"]["details"][0]["code"], "ObjectConflict");
    assert_eq!(
        conflict["error"]["details"][0]["target"],
        "userPrincipalName"
    );

    let (status, _) = t
        .patch(
            &format!("/users/{id}"),
            json!({"jobTitle": "Analyst", "usageLocation": "GB",
            "onPremisesExtensionAttributes": {"extensionAttribute15": "00uNEW"}}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, user) = t.get("/users/new.person@acme.example?$select=jobTitle,usageLocation,onPremisesExtensionAttributes").await;
    assert_eq!(user["jobTitle"], "Analyst");
    assert_eq!(
        user["onPremisesExtensionAttributes"]["extensionAttribute15"],
        "00uNEW"
    );
    assert_eq!(
        user["onPremisesExtensionAttributes"]["extensionAttribute1"],
        Value::Null
    );
    assert_eq!(
        t.patch(&format!("/users/{id}"), json!({"jobTitle": null}))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, user) = t.get(&format!("/users/{id}")).await;
    assert_eq!(user["jobTitle"], Value::Null);
    let (status, body) = t
        .patch(
            &format!("/users/{id}"),
            json!({"id": "00000000-0000-4000-8000-000000000001"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "id is read-only: {body}");
    assert_eq!(t.get(&format!("/users/{id}")).await.0, StatusCode::OK);
    let (status, _) = t
        .patch(&format!("/users/{id}"), json!({"favouriteColour": "teal"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = t
        .patch(
            &format!("/users/{id}"),
            json!({"employeeId": "12345678901234567"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "employeeId is at most 16 characters"
    );

    assert_eq!(
        t.delete(&format!("/users/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(&format!("/users/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, restored) = t
        .post(&format!("/directory/deletedItems/{id}/restore"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(restored["@odata.type"], "#microsoft.graph.user");
    assert_eq!(t.get(&format!("/users/{id}")).await.0, StatusCode::OK);
    t.emu.stop().await;
}

#[tokio::test]
async fn member_adds_and_removes_follow_graph_rules() {
    let t = Tenant::start(acme_options()).await;
    let (_, a) = t.post("/users", new_user("member.a@acme.example")).await;
    let (_, b) = t.post("/users", new_user("member.b@acme.example")).await;
    let (_, c) = t.post("/users", new_user("member.c@acme.example")).await;
    let (a, b, c) = (
        a["id"].as_str().unwrap(),
        b["id"].as_str().unwrap(),
        c["id"].as_str().unwrap(),
    );
    let refs = format!("/groups/{ALL_STAFF}/members/$ref");
    assert_eq!(
        t.post(&refs, directory_object(a)).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, dup) = t.post(&refs, directory_object(a)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        dup["error"]["message"],
        "One or more added object references already exist for the following modified properties: 'members'."
    );
    let (status, _) = t
        .post(
            &refs,
            directory_object("00000000-0000-4000-8000-000000000000"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // PATCH binds: at most 20, all or nothing.
    let bind = |ids: &[&str]| json!({"members@odata.bind": ids.iter().map(|i| format!("https://graph.microsoft.com/v1.0/directoryObjects/{i}")).collect::<Vec<_>>()});
    let many: Vec<String> = (0..21)
        .map(|n| format!("00000000-0000-4000-8000-{n:012}"))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let (status, body) = t.patch(&format!("/groups/{ALL_STAFF}"), bind(&many)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = t
        .patch(&format!("/groups/{ALL_STAFF}"), bind(&[b, a]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a is already a member");
    let members = ids(&t
        .all_pages(&format!("/groups/{ALL_STAFF}/members?$select=id"))
        .await);
    assert!(
        !members.contains(&b.to_owned()),
        "nothing was added when one bind failed"
    );
    assert_eq!(
        t.patch(&format!("/groups/{ALL_STAFF}"), bind(&[b, c]))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let members = ids(&t
        .all_pages(&format!("/groups/{ALL_STAFF}/members?$select=id"))
        .await);
    assert!(members.contains(&b.to_owned()) && members.contains(&c.to_owned()));

    assert_eq!(
        t.delete(&format!("/groups/{ALL_STAFF}/members/{a}/$ref"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.delete(&format!("/groups/{ALL_STAFF}/members/{a}/$ref"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get(&format!("/users/{a}")).await.0,
        StatusCode::OK,
        "removing a reference keeps the user"
    );

    // Without /$ref, Graph deletes the member object itself.
    assert_eq!(
        t.delete(&format!("/groups/{ALL_STAFF}/members/{b}"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(&format!("/users/{b}")).await.0,
        StatusCode::NOT_FOUND,
        "the user was deleted"
    );

    // Exchange-managed groups can't be changed through Graph.
    let (status, _) = t
        .post(
            &format!("/groups/{SALES_LEADERSHIP_DL}/members/$ref"),
            directory_object(c),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    t.emu.stop().await;
}

#[tokio::test]
async fn deleting_through_members_without_ref_needs_user_write_permission() {
    let opts = GraphOptions {
        apps: vec![AppRegistration {
            roles: [
                "GroupMember.ReadWrite.All".to_owned(),
                "User.Read.All".to_owned(),
            ]
            .into(),
            ..AppRegistration::default()
        }],
        ..acme_options()
    };
    let t = Tenant::start(opts).await;
    let (_, members) = t
        .get(&format!("/groups/{ALL_STAFF}/members?$select=id&$top=1"))
        .await;
    let member = members["value"][0]["id"].as_str().unwrap();
    assert_eq!(
        t.delete(&format!("/groups/{ALL_STAFF}/members/{member}"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(t.get(&format!("/users/{member}")).await.0, StatusCode::OK);
    t.emu.stop().await;
}

#[tokio::test]
async fn assigned_plans_are_the_skus_user_plans_minus_the_disabled_ones() {
    let t = Tenant::start(acme_options()).await;
    let (_, created) = t.post("/users", new_user("plans.test@acme.example")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    t.patch(&format!("/users/{id}"), json!({"usageLocation": "GB"}))
        .await;
    let sku = sku(&t, E3).await;
    let user_plans: Vec<String> = sku["servicePlans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["appliesTo"] != "Company")
        .map(|p| p["servicePlanId"].as_str().unwrap().to_owned())
        .collect();
    assert!(user_plans.len() > 2, "E3 has user plans to disable");
    let disabled = &user_plans[1];
    let (status, user) = t
        .post(
            &format!("/users/{id}/assignLicense"),
            json!({"addLicenses": [{"skuId": E3, "disabledPlans": [disabled]}], "removeLicenses": []}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let plans = user["assignedPlans"].as_array().unwrap().clone();
    let ids: Vec<&str> = plans
        .iter()
        .map(|p| p["servicePlanId"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = user_plans
        .iter()
        .map(String::as_str)
        .filter(|p| p != disabled)
        .collect();
    assert_eq!(
        ids, expected,
        "every enabled user plan, once, in the SKU's order"
    );
    for plan in &plans {
        let keys: Vec<&String> = plan.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "assignedDateTime",
                "capabilityStatus",
                "service",
                "servicePlanId"
            ]
        );
        assert_eq!(plan["capabilityStatus"], "Enabled");
        assert!(plan["assignedDateTime"].as_str().unwrap().ends_with('Z'));
    }
    let exchange = sku["servicePlans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["servicePlanName"] == "EXCHANGE_S_ENTERPRISE")
        .unwrap()["servicePlanId"]
        .clone();
    assert!(
        plans
            .iter()
            .any(|p| p["servicePlanId"] == exchange && p["service"] == "exchange"),
        "Exchange Online is the `exchange` service, as Graph names it"
    );
    let (_, read) = t.get(&format!("/users/{id}?$select=assignedPlans")).await;
    assert_eq!(read["assignedPlans"], Value::Array(plans));
    let (_, removed) = t
        .post(
            &format!("/users/{id}/assignLicense"),
            json!({"addLicenses": [], "removeLicenses": [E3]}),
        )
        .await;
    assert_eq!(removed["assignedPlans"], json!([]));
    t.emu.stop().await;
}

#[tokio::test]
async fn licences_need_a_usage_location_free_seats_and_direct_assignment() {
    let t = Tenant::start(acme_options()).await;
    let (_, created) = t.post("/users", new_user("lic.test@acme.example")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let assign = |sku: &str| json!({"addLicenses": [{"skuId": sku, "disabledPlans": []}], "removeLicenses": []});
    let (status, err) = t
        .post(&format!("/users/{id}/assignLicense"), assign(E3))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["error"]["message"],
        "License assignment cannot be done for user with invalid usage location."
    );

    let before = sku(&t, E3).await["consumedUnits"].as_i64().unwrap();
    t.patch(&format!("/users/{id}"), json!({"usageLocation": "GB"}))
        .await;
    let (status, user) = t
        .post(&format!("/users/{id}/assignLicense"), assign(E3))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["id"], json!(id));
    assert_eq!(
        sku(&t, E3).await["consumedUnits"].as_i64().unwrap(),
        before + 1
    );
    let (_, user) = t
        .get(&format!(
            "/users/{id}?$select=assignedLicenses,licenseAssignmentStates"
        ))
        .await;
    assert_eq!(user["assignedLicenses"][0]["skuId"], E3);
    assert_eq!(
        user["licenseAssignmentStates"][0]["assignedByGroup"],
        Value::Null
    );

    // ENTERPRISEPACK: 10 seats, 3 used. Seven more fit; the eighth doesn't.
    let mut last = StatusCode::OK;
    let mut last_body = Value::Null;
    for n in 0..8 {
        let (_, u) = t
            .post("/users", new_user(&format!("seat{n}@acme.example")))
            .await;
        let uid = u["id"].as_str().unwrap().to_owned();
        t.patch(&format!("/users/{uid}"), json!({"usageLocation": "US"}))
            .await;
        (last, last_body) = t
            .post(
                &format!("/users/{uid}/assignLicense"),
                assign(ENTERPRISEPACK),
            )
            .await;
        if n < 7 {
            assert_eq!(last, StatusCode::OK, "seat {n}: {last_body}");
        }
    }
    assert_eq!(last, StatusCode::BAD_REQUEST);
    assert!(
        last_body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not have any available licenses")
    );
    let pack = sku(&t, ENTERPRISEPACK).await;
    assert_eq!(pack["consumedUnits"], pack["prepaidUnits"]["enabled"]);

    // eac47095 holds E3 through the "Licensing - E3" group and FLOW_FREE directly.
    let inherited = "eac47095-3ed8-4be5-95ae-b24b0e15ba87";
    let remove = |sku: &str| json!({"addLicenses": [], "removeLicenses": [sku]});
    let (status, err) = t
        .post(&format!("/users/{inherited}/assignLicense"), remove(E3))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["error"]["message"],
        "User license is inherited from a group membership and it cannot be removed directly from the user."
    );
    let flow_before = sku(&t, FLOW_FREE).await["consumedUnits"].as_i64().unwrap();
    assert_eq!(
        t.post(
            &format!("/users/{inherited}/assignLicense"),
            remove(FLOW_FREE)
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        sku(&t, FLOW_FREE).await["consumedUnits"].as_i64().unwrap(),
        flow_before - 1
    );
    let (status, _) = t
        .post(
            &format!("/users/{ADAM}/assignLicense"),
            json!({"addLicenses": []}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "removeLicenses is required"
    );
    t.emu.stop().await;
}

#[tokio::test]
async fn invitations_create_guests_and_sessions_and_managers_work() {
    let t = Tenant::start(acme_options()).await;
    let (status, inv) = t
        .post("/invitations", json!({"invitedUserEmailAddress": "sam@partner.example", "inviteRedirectUrl": "https://myapps.microsoft.com", "sendInvitationMessage": false}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    assert_eq!(inv["status"], "PendingAcceptance");
    let upn = inv["invitedUser"]["userPrincipalName"].as_str().unwrap();
    assert_eq!(upn, "sam_partner.example#EXT#@acmeexample.onmicrosoft.com");
    let (status, guest) = t.get("/users/sam_partner.example%23EXT%23@acmeexample.onmicrosoft.com?$select=userType,externalUserState,mail").await;
    assert_eq!(status, StatusCode::OK, "{guest}");
    assert_eq!(guest["userType"], "Guest");
    assert_eq!(guest["externalUserState"], "PendingAcceptance");

    let (status, revoked) = t
        .post(&format!("/users/{ADAM}/revokeSignInSessions"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revoked["value"], true);

    let manager = "eac47095-3ed8-4be5-95ae-b24b0e15ba87";
    assert_eq!(
        t.get(&format!("/users/{ADAM}/manager")).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = t
        .send(
            reqwest::Method::PUT,
            &format!("/users/{ADAM}/manager/$ref"),
            Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{manager}")})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, m) = t.get(&format!("/users/{ADAM}/manager?$select=id")).await;
    assert_eq!(m["id"], manager);
    assert_eq!(m["@odata.type"], "#microsoft.graph.user");
    t.emu.stop().await;
}

#[tokio::test]
async fn group_based_licences_follow_membership_and_count_seats() {
    let t = Tenant::start(acme_options()).await;
    // "Licensing - E3" assigns E3 to its members (seen in the snapshot's licence states).
    let licensing_e3 = "dc3e5a9a-2fd8-4f0e-a393-05c84120d4fd";
    let (_, u) = t.post("/users", new_user("grouplic@acme.example")).await;
    let uid = u["id"].as_str().unwrap().to_owned();
    t.patch(&format!("/users/{uid}"), json!({"usageLocation": "GB"}))
        .await;
    let before = sku(&t, E3).await["consumedUnits"].as_i64().unwrap();
    let refs = format!("/groups/{licensing_e3}/members/$ref");
    assert_eq!(
        t.post(&refs, directory_object(&uid)).await.0,
        StatusCode::NO_CONTENT
    );
    let select = format!("/users/{uid}?$select=assignedLicenses,licenseAssignmentStates");
    let (_, user) = t.get(&select).await;
    assert_eq!(user["assignedLicenses"][0]["skuId"], E3);
    assert_eq!(
        user["licenseAssignmentStates"][0]["assignedByGroup"],
        licensing_e3
    );
    assert_eq!(
        sku(&t, E3).await["consumedUnits"].as_i64().unwrap(),
        before + 1
    );
    let (status, _) = t
        .post(
            &format!("/users/{uid}/assignLicense"),
            json!({"addLicenses": [], "removeLicenses": [E3]}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an inherited licence can't be removed directly"
    );
    assert_eq!(
        t.delete(&format!("/groups/{licensing_e3}/members/{uid}/$ref"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, user) = t.get(&select).await;
    assert_eq!(user["assignedLicenses"], json!([]));
    assert_eq!(sku(&t, E3).await["consumedUnits"].as_i64().unwrap(), before);

    // A group licence with fewer seats than members: the rest get CountViolation.
    let (_, group) = t
        .post(
            "/groups",
            json!({"displayName": "Pack", "mailNickname": "pack", "mailEnabled": false,
            "securityEnabled": true, "groupTypes": []}),
        )
        .await;
    let gid = group["id"].as_str().unwrap().to_owned();
    let mut people = Vec::new();
    for n in 0..8 {
        let (_, u) = t
            .post("/users", new_user(&format!("pack{n}@acme.example")))
            .await;
        let id = u["id"].as_str().unwrap().to_owned();
        t.post(
            &format!("/groups/{gid}/members/$ref"),
            directory_object(&id),
        )
        .await;
        people.push(id);
    }
    let (status, body) = t
        .post(&format!("/groups/{gid}/assignLicense"), json!({"addLicenses": [{"skuId": ENTERPRISEPACK, "disabledPlans": []}], "removeLicenses": []}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let mut errors = 0;
    for id in &people {
        let (_, user) = t
            .get(&format!(
                "/users/{id}?$select=assignedLicenses,licenseAssignmentStates"
            ))
            .await;
        let state = &user["licenseAssignmentStates"][0];
        if state["state"] == "Error" {
            assert_eq!(state["error"], "CountViolation");
            assert_eq!(user["assignedLicenses"], json!([]));
            errors += 1;
        }
    }
    assert_eq!(errors, 1, "7 seats were free for 8 members");
    let pack = sku(&t, ENTERPRISEPACK).await;
    assert_eq!(pack["consumedUnits"], pack["prepaidUnits"]["enabled"]);
    t.emu.stop().await;
}

#[tokio::test]
async fn security_groups_nest_and_transitive_members_flatten_them() {
    let t = Tenant::start(acme_options()).await;
    let finance_data = "6d55d92d-7881-446a-9f41-407c6b040c47";
    let responders = "cead2d08-e39b-47bc-a5fb-2c93e5cf633e";
    let nested = format!("/groups/{finance_data}/members/$ref");
    assert_eq!(
        t.post(&nested, directory_object(responders)).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, _) = t
        .post(
            &format!("/groups/{ALL_STAFF}/members/$ref"),
            directory_object(responders),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "Microsoft 365 groups take users only"
    );

    let direct = ids(&t
        .all_pages(&format!("/groups/{finance_data}/members?$select=id"))
        .await);
    let inner = ids(&t
        .all_pages(&format!("/groups/{responders}/members?$select=id"))
        .await);
    let flat = t
        .all_pages(&format!(
            "/groups/{finance_data}/transitiveMembers?$select=id&$top=5"
        ))
        .await;
    let flat_ids: BTreeSet<String> = ids(&flat).into_iter().collect();
    assert_eq!(flat_ids.len(), flat.len(), "each object once");
    let expected: BTreeSet<String> = direct.iter().chain(&inner).cloned().collect();
    assert_eq!(flat_ids, expected);
    assert!(
        flat.iter()
            .any(|m| m["@odata.type"] == "#microsoft.graph.group")
    );
    let users = t
        .all_pages(&format!(
            "/groups/{finance_data}/transitiveMembers/microsoft.graph.user?$select=id"
        ))
        .await;
    assert_eq!(
        users.len(),
        expected.len() - 1,
        "the cast drops the nested group"
    );
    t.emu.stop().await;
}

#[tokio::test]
async fn malformed_bodies_get_graph_errors_never_a_crash() {
    let t = Tenant::start(acme_options()).await;
    let engineering = "1c440b77-712a-470e-bf93-82bfeb76b887";
    let routes: Vec<(reqwest::Method, String)> = vec![
        (reqwest::Method::POST, "/users".into()),
        (reqwest::Method::PATCH, format!("/users/{ADAM}")),
        (
            reqwest::Method::POST,
            format!("/users/{ADAM}/assignLicense"),
        ),
        (reqwest::Method::PUT, format!("/users/{ADAM}/manager/$ref")),
        (reqwest::Method::POST, "/groups".into()),
        (reqwest::Method::PATCH, format!("/groups/{ALL_STAFF}")),
        (
            reqwest::Method::POST,
            format!("/groups/{ALL_STAFF}/members/$ref"),
        ),
        (
            reqwest::Method::POST,
            format!("/groups/{ALL_STAFF}/assignLicense"),
        ),
        (reqwest::Method::PUT, format!("/groups/{ALL_STAFF}/team")),
        (reqwest::Method::POST, "/teams".into()),
        (
            reqwest::Method::POST,
            format!("/teams/{engineering}/members"),
        ),
        (
            reqwest::Method::POST,
            format!("/teams/{engineering}/members/add"),
        ),
        (reqwest::Method::POST, "/invitations".into()),
        (reqwest::Method::POST, "/$batch".into()),
    ];
    let bodies = [
        json!({}),
        json!([]),
        json!("text"),
        json!(null),
        json!({"addLicenses": "x", "removeLicenses": [1], "requests": [{}], "values": [1],
            "@odata.id": 5, "members@odata.bind": "x", "displayName": 7, "mailNickname": [],
            "mail": 3, "proxyAddresses": "x", "userPrincipalName": {}, "passwordProfile": "p"}),
    ];
    for (method, path) in &routes {
        for body in &bodies {
            let resp = t
                .http
                .request(method.clone(), t.url(path))
                .bearer_auth(&t.token)
                .json(body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {path} with {body}: {e}"));
            let status = resp.status();
            let text = resp.text().await.unwrap();
            assert!(
                status.is_client_error() || status.is_success(),
                "{method} {path} with {body}: {status} {text}"
            );
        }
        let resp = t
            .http
            .request(method.clone(), t.url(path))
            .bearer_auth(&t.token)
            .header("Content-Type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::BAD_REQUEST,
            "{method} {path} with broken JSON"
        );
    }
    t.emu.stop().await;
}

#[tokio::test]
async fn deleted_objects_are_purged_after_the_retention() {
    let t = Tenant::start(GraphOptions {
        deleted_retention: Duration::from_millis(300),
        ..acme_options()
    })
    .await;
    let (_, a) = t.post("/users", new_user("short.lived@acme.example")).await;
    let id = a["id"].as_str().unwrap().to_owned();
    assert_eq!(
        t.delete(&format!("/users/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(&format!("/directory/deletedItems/{id}")).await.0,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        t.get(&format!("/directory/deletedItems/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = t
        .post(&format!("/directory/deletedItems/{id}/restore"), json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "purged objects can't be restored"
    );
    // Security groups are purged at once.
    let (_, g) = t
        .post("/groups", json!({"displayName": "Temp", "mailNickname": "temp", "mailEnabled": false, "securityEnabled": true}))
        .await;
    let gid = g["id"].as_str().unwrap().to_owned();
    assert_eq!(
        t.delete(&format!("/groups/{gid}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(&format!("/directory/deletedItems/{gid}")).await.0,
        StatusCode::NOT_FOUND
    );
    t.emu.stop().await;
}
