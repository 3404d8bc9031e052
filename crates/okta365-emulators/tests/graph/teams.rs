//! Teams: creation and members.

use crate::support::*;

#[tokio::test]
async fn team_members_are_added_listed_and_removed() {
    let t = Tenant::start(acme_options()).await;
    let engineering = "1c440b77-712a-470e-bf93-82bfeb76b887";
    let (status, members) = t.get(&format!("/teams/{engineering}/members")).await;
    assert_eq!(status, StatusCode::OK);
    let owners: Vec<&Value> = members["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["roles"] == json!(["owner"]))
        .collect();
    assert_eq!(owners.len(), 2);
    let (_, u) = t.post("/users", new_user("teammate@acme.example")).await;
    let uid = u["id"].as_str().unwrap().to_owned();
    let (status, member) = t
        .post(&format!("/teams/{engineering}/members"), json!({"@odata.type": "#microsoft.graph.aadUserConversationMember",
            "roles": [], "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{uid}')")}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    assert_eq!(member["userId"], json!(uid));
    let membership = member["id"].as_str().unwrap().to_owned();
    assert_ne!(membership, uid, "membership ids are not user ids");
    let group_members = ids(&t
        .all_pages(&format!("/groups/{engineering}/members?$select=id"))
        .await);
    assert!(
        group_members.contains(&uid),
        "team members are group members"
    );

    let (status, bulk) = t
        .post(&format!("/teams/{engineering}/members/add"), json!({"values": [
            {"@odata.type": "#microsoft.graph.aadUserConversationMember", "roles": [], "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{ADAM}')")},
            {"@odata.type": "#microsoft.graph.aadUserConversationMember", "roles": [], "user@odata.bind": "https://graph.microsoft.com/v1.0/users('00000000-0000-4000-8000-000000000000')"},
        ]}))
        .await;
    assert_eq!(status.as_u16(), 207, "{bulk}");
    assert_eq!(bulk["value"][0]["error"], Value::Null);
    assert_eq!(bulk["value"][1]["error"]["code"], "NotFound");

    assert_eq!(
        t.delete(&format!("/teams/{engineering}/members/{membership}"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let group_members = ids(&t
        .all_pages(&format!("/groups/{engineering}/members?$select=id"))
        .await);
    assert!(!group_members.contains(&uid));
    assert_eq!(
        t.get(&format!("/teams/{ALL_STAFF}/members")).await.0,
        StatusCode::NOT_FOUND,
        "All Staff has no team"
    );
    t.emu.stop().await;
}

#[tokio::test]
async fn post_teams_runs_as_an_operation_and_guests_redeem() {
    let t = Tenant::start(GraphOptions {
        lag: LagOptions {
            team_provisioning: Duration::from_millis(300),
            ..LagOptions::default()
        },
        ..acme_options()
    })
    .await;
    let resp = t
        .http
        .post(t.url("/teams"))
        .bearer_auth(&t.token)
        .json(&json!({"template@odata.bind": "https://graph.microsoft.com/v1.0/teamsTemplates('standard')",
            "displayName": "Launch", "description": "Launch squad",
            "members": [{"@odata.type": "#microsoft.graph.aadUserConversationMember", "roles": ["owner"],
                "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{ADAM}')")}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/teams('") && location.contains("/operations('"),
        "{location}"
    );
    assert!(resp.text().await.unwrap().is_empty());
    let (_, op) = t.get(&location).await;
    assert_eq!(op["status"], "inProgress", "{op}");
    let team = op["targetResourceId"].as_str().unwrap().to_owned();
    assert_eq!(
        t.get(&format!("/teams/{team}")).await.0,
        StatusCode::NOT_FOUND
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (_, op) = t.get(&location).await;
    assert_eq!(op["status"], "succeeded");
    let (status, body) = t.get(&format!("/teams/{team}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["displayName"], "Launch");
    let (_, group) = t.get(&format!("/groups/{team}")).await;
    assert_eq!(group["resourceProvisioningOptions"], json!(["Team"]));
    let (status, _) = t
        .post("/teams", json!({"template@odata.bind": "https://graph.microsoft.com/v1.0/teamsTemplates('standard')",
            "group@odata.bind": format!("https://graph.microsoft.com/v1.0/groups('{ALL_STAFF}')"), "displayName": "x"}))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "displayName is inherited from the group"
    );

    let (_, inv) = t
        .post("/invitations", json!({"invitedUserEmailAddress": "kim@partner.example", "inviteRedirectUrl": "https://myapps.microsoft.com"}))
        .await;
    let guest = inv["invitedUser"]["id"].as_str().unwrap().to_owned();
    assert!(t.emu.redeem_invitation(&guest));
    let (_, user) = t
        .get(&format!("/users/{guest}?$select=externalUserState"))
        .await;
    assert_eq!(user["externalUserState"], "Accepted");
    t.emu.stop().await;
}

#[tokio::test]
async fn teams_archive_and_unarchive_through_operations() {
    let t = Tenant::start(acme_options()).await;
    let engineering = "1c440b77-712a-470e-bf93-82bfeb76b887";
    for (action, archived) in [("archive", true), ("unarchive", false)] {
        let resp = t
            .http
            .post(t.url(&format!("/teams/{engineering}/{action}")))
            .bearer_auth(&t.token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        let (_, op) = t.get(&location).await;
        assert_eq!(op["operationType"], format!("{action}Team"));
        assert_eq!(op["status"], "succeeded");
        let (_, team) = t.get(&format!("/teams/{engineering}")).await;
        assert_eq!(team["isArchived"], archived);
    }
    let (status, _) = t
        .post(&format!("/teams/{ALL_STAFF}/archive"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "All Staff has no team");
    t.emu.stop().await;
}
