//! Identity Protection: confirmCompromised and dismiss take `userIds` and
//! answer 204; the risky user reads back; one call a second per tenant,
//! refused without `Retry-After`; every write shows in the write log.

use std::time::Duration;

use crate::support::*;

#[tokio::test]
async fn users_are_confirmed_compromised_and_dismissed_one_call_a_second() {
    let t = Tenant::start(acme_options()).await;
    let (_, users) = t.get("/users?$select=id,userPrincipalName&$top=2").await;
    let ids: Vec<String> = users["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    let (status, body) = t
        .post(
            "/identityProtection/riskyUsers/confirmCompromised",
            json!({ "userIds": ids }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // A second call within the second is refused, without Retry-After.
    let resp = t
        .http
        .get(t.url(&format!("/identityProtection/riskyUsers/{}", ids[0])))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("retry-after").is_none());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (status, risky) = t
        .get(&format!("/identityProtection/riskyUsers/{}", ids[0]))
        .await;
    assert_eq!(status, StatusCode::OK, "{risky}");
    assert_eq!(risky["riskLevel"], "high");
    assert_eq!(risky["riskState"], "confirmedCompromised");
    assert_eq!(risky["riskDetail"], "adminConfirmedUserCompromised");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (status, _) = t
        .post(
            "/identityProtection/riskyUsers/dismiss",
            json!({ "userIds": [ids[1]] }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (_, list) = t.get("/identityProtection/riskyUsers").await;
    let states: Vec<(&str, &str)> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["riskLevel"].as_str().unwrap(),
                u["riskState"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(states.contains(&("high", "confirmedCompromised")), "{list}");
    assert!(states.contains(&("none", "dismissed")), "{list}");
    let writes = t.emu.writes();
    assert_eq!(
        writes,
        [
            "POST /identityProtection/riskyUsers/confirmCompromised",
            "POST /identityProtection/riskyUsers/dismiss"
        ]
    );
}

#[tokio::test]
async fn unknown_users_and_bad_bodies_are_refused() {
    let t = Tenant::start(acme_options()).await;
    let (status, _) = t
        .post(
            "/identityProtection/riskyUsers/confirmCompromised",
            json!({ "userIds": ["00000000-0000-0000-0000-000000000000"] }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (status, _) = t
        .post(
            "/identityProtection/riskyUsers/confirmCompromised",
            json!({ "users": [] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(t.emu.writes().is_empty());
}
