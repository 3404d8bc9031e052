//! SSWS tokens, private_key_jwt client assertions, scopes and DPoP.

use crate::common::*;

#[tokio::test]
async fn ssws_tokens_are_checked_with_oktas_error_shapes() {
    let emulator = start(options()).await;
    let url = format!("{}/api/v1/users?limit=1", emulator.url());
    for value in [format!("SSWS {TOKEN}"), format!("SSWS{TOKEN}")] {
        let response = http()
            .get(&url)
            .header("Authorization", value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let wrong = http()
        .get(&url)
        .header("Authorization", "SSWS nope")
        .send()
        .await
        .unwrap();
    let body = assert_okta_error(wrong, 401, "E0000011").await;
    assert_eq!(body["errorSummary"], "Invalid token provided");
    let missing = http().get(&url).send().await.unwrap();
    assert_okta_error(missing, 403, "E0000005").await;
    let unknown = get(&format!("{}/api/v1/users/00uNobody", emulator.url())).await;
    assert_okta_error(unknown, 404, "E0000007").await;
    emulator.stop().await;
}

#[tokio::test]
async fn private_key_jwt_is_accepted_with_the_registered_key_and_refused_with_another() {
    let emulator = start(oauth_options(false)).await;
    let token_url = format!("{}/oauth2/v1/token", emulator.url());
    let assertion = testing::client_assertion(&CLIENT_RSA, "0oaRsaApp", &token_url, "jti-1");
    let response = token_request(&emulator, &assertion, &ALL_SCOPES.join(" "), None).await;
    assert_eq!(response.status(), 200);
    let token: Value = response.json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    let access = token["access_token"].as_str().unwrap();
    let users = http()
        .get(format!("{}/api/v1/users?limit=2", emulator.url()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 200);

    let replay = token_request(&emulator, &assertion, "okta.users.read", None).await;
    assert_eq!(replay.status(), 401, "a used jti is refused");

    let forged = testing::client_assertion(&OTHER_EC, "0oaEcApp", &token_url, "jti-2");
    let refused = token_request(&emulator, &forged, "okta.users.read", None).await;
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client", "{body}");
    assert!(body["error_description"].is_string());

    let wrong_aud = testing::client_assertion(
        &CLIENT_RSA,
        "0oaRsaApp",
        "http://elsewhere/oauth2/v1/token",
        "jti-3",
    );
    assert_eq!(
        token_request(&emulator, &wrong_aud, "okta.users.read", None)
            .await
            .status(),
        401
    );

    let ungranted = testing::client_assertion(&CLIENT_EC, "0oaEcApp", &token_url, "jti-4");
    let response = token_request(
        &emulator,
        &ungranted,
        "okta.users.read okta.logs.read",
        None,
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_scope"
    );
    emulator.stop().await;
}

#[tokio::test]
async fn a_token_without_the_scope_gets_403() {
    let emulator = start(oauth_options(false)).await;
    let token_url = format!("{}/oauth2/v1/token", emulator.url());
    let assertion = testing::client_assertion(&CLIENT_EC, "0oaEcApp", &token_url, "jti-1");
    let token: Value = token_request(&emulator, &assertion, "okta.users.read", None)
        .await
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap();
    let logs = http()
        .get(format!("{}/api/v1/logs", emulator.url()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert!(header(&logs, "www-authenticate").contains("insufficient_scope"));
    assert_okta_error(logs, 403, "E0000006").await;
    let bogus = http()
        .get(format!("{}/api/v1/users", emulator.url()))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_okta_error(bogus, 401, "E0000011").await;
    emulator.stop().await;
}

#[tokio::test]
async fn dpop_nonce_challenge_then_a_bound_token_checked_with_ath_on_every_call() {
    let emulator = start(oauth_options(true)).await;
    let token_url = format!("{}/oauth2/v1/token", emulator.url());
    let assertion = |jti: &str| testing::client_assertion(&CLIENT_EC, "0oaEcApp", &token_url, jti);

    let no_proof = token_request(&emulator, &assertion("a0"), "okta.users.read", None).await;
    assert_eq!(no_proof.status(), 400);
    assert_eq!(
        no_proof.json::<Value>().await.unwrap()["error"],
        "invalid_dpop_proof"
    );

    let proof = testing::dpop_proof(&DPOP_EC, "POST", &token_url, None, None, "p1");
    let challenge =
        token_request(&emulator, &assertion("a1"), "okta.users.read", Some(proof)).await;
    assert_eq!(challenge.status(), 400);
    let nonce = header(&challenge, "dpop-nonce");
    let body: Value = challenge.json().await.unwrap();
    assert_eq!(body["error"], "use_dpop_nonce");
    assert_eq!(
        body["error_description"],
        "Authorization server requires nonce in DPoP proof."
    );

    let same_key = testing::dpop_proof(&CLIENT_EC, "POST", &token_url, Some(&nonce), None, "p2");
    let refused = token_request(
        &emulator,
        &assertion("a2"),
        "okta.users.read",
        Some(same_key),
    )
    .await;
    assert_eq!(
        refused.status(),
        400,
        "the DPoP key must differ from the client key"
    );

    let proof = testing::dpop_proof(&DPOP_EC, "POST", &token_url, Some(&nonce), None, "p3");
    let granted = token_request(&emulator, &assertion("a1"), "okta.users.read", Some(proof)).await;
    assert_eq!(granted.status(), 200, "the retry with the nonce succeeds");
    let token: Value = granted.json().await.unwrap();
    assert_eq!(token["token_type"], "DPoP");
    let access = token["access_token"].as_str().unwrap();

    let users_url = format!("{}/api/v1/users", emulator.url());
    let call = |proof: String, scheme: &'static str| {
        http()
            .get(format!("{users_url}?limit=2"))
            .header("Authorization", format!("{scheme} {access}"))
            .header("DPoP", proof)
            .send()
    };
    let good = testing::dpop_proof(&DPOP_EC, "GET", &users_url, None, Some(access), "r1");
    assert_eq!(call(good, "DPoP").await.unwrap().status(), 200);

    let wrong_ath =
        testing::dpop_proof(&DPOP_EC, "GET", &users_url, None, Some("other-token"), "r2");
    let response = call(wrong_ath, "DPoP").await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(header(&response, "www-authenticate").contains("invalid_dpop_proof"));
    assert!(
        response.json::<Value>().await.unwrap()["error_description"]
            .as_str()
            .unwrap()
            .contains("ath")
    );

    let with_query = format!("{users_url}?limit=2");
    let query_htu = testing::dpop_proof(&DPOP_EC, "GET", &with_query, None, Some(access), "r3");
    assert_eq!(
        call(query_htu, "DPoP").await.unwrap().status(),
        400,
        "htu must not carry the query"
    );

    let other_key = testing::dpop_proof(&OTHER_EC, "GET", &users_url, None, Some(access), "r4");
    assert_eq!(
        call(other_key, "DPoP").await.unwrap().status(),
        400,
        "the proof key is the bound key"
    );

    let as_bearer = testing::dpop_proof(&DPOP_EC, "GET", &users_url, None, Some(access), "r5");
    assert_eq!(call(as_bearer, "Bearer").await.unwrap().status(), 400);

    let replayed = testing::dpop_proof(&DPOP_EC, "GET", &users_url, None, Some(access), "r1");
    assert_eq!(
        call(replayed, "DPoP").await.unwrap().status(),
        400,
        "a proof jti is single-use"
    );
    emulator.stop().await;
}

#[tokio::test]
async fn access_tokens_expire_after_their_lifetime() {
    let emulator = start(OktaOptions {
        token_lifetime: Duration::from_millis(1000),
        ..oauth_options(false)
    })
    .await;
    let token_url = format!("{}/oauth2/v1/token", emulator.url());
    let assertion = testing::client_assertion(&CLIENT_RSA, "0oaRsaApp", &token_url, "jti-1");
    let token: Value = token_request(&emulator, &assertion, "okta.groups.read", None)
        .await
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap().to_owned();
    let call = || {
        http()
            .get(format!("{}/api/v1/groups", emulator.url()))
            .bearer_auth(&access)
            .send()
    };
    assert_eq!(call().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let expired = call().await.unwrap();
    assert!(header(&expired, "www-authenticate").contains("invalid_token"));
    assert_okta_error(expired, 401, "E0000011").await;
    emulator.stop().await;
}

#[tokio::test]
async fn dpop_nonces_rotate_and_the_previous_one_stays_valid_for_a_while() {
    // Wide margins: the grace request must land between one and two lifetimes.
    let lifetime = Duration::from_millis(1000);
    let emulator = start(OktaOptions {
        dpop_nonce_lifetime: lifetime,
        ..oauth_options(true)
    })
    .await;
    let token_url = format!("{}/oauth2/v1/token", emulator.url());
    let assertion = |jti: &str| testing::client_assertion(&CLIENT_EC, "0oaEcApp", &token_url, jti);
    let proof = |nonce: Option<&str>, jti: &str| {
        Some(testing::dpop_proof(
            &DPOP_EC, "POST", &token_url, nonce, None, jti,
        ))
    };
    let challenge = token_request(
        &emulator,
        &assertion("a1"),
        "okta.users.read",
        proof(None, "p1"),
    )
    .await;
    let first = header(&challenge, "dpop-nonce");
    tokio::time::sleep(lifetime + Duration::from_millis(200)).await;
    let grace = token_request(
        &emulator,
        &assertion("a2"),
        "okta.users.read",
        proof(Some(&first), "p2"),
    )
    .await;
    assert_eq!(
        grace.status(),
        200,
        "the previous nonce is still accepted after a rotation"
    );
    tokio::time::sleep(lifetime + Duration::from_millis(200)).await;
    let stale = token_request(
        &emulator,
        &assertion("a3"),
        "okta.users.read",
        proof(Some(&first), "p3"),
    )
    .await;
    assert_eq!(stale.status(), 400);
    let second = header(&stale, "dpop-nonce");
    assert_ne!(first, second);
    assert_eq!(
        stale.json::<Value>().await.unwrap()["error"],
        "use_dpop_nonce"
    );
    let fresh = token_request(
        &emulator,
        &assertion("a3"),
        "okta.users.read",
        proof(Some(&second), "p4"),
    )
    .await;
    assert_eq!(fresh.status(), 200);
    emulator.stop().await;
}

#[tokio::test]
async fn rs256_dpop_proofs_bind_tokens_too() {
    let emulator = start(oauth_options(true)).await;
    let token_url = format!("{}/oauth2/v1/token", emulator.url());
    let assertion = testing::client_assertion(&CLIENT_EC, "0oaEcApp", &token_url, "a1");
    let proof = |nonce: Option<&str>, jti: &str| {
        Some(testing::dpop_proof(
            &CLIENT_RSA,
            "POST",
            &token_url,
            nonce,
            None,
            jti,
        ))
    };
    let challenge =
        token_request(&emulator, &assertion, "okta.users.read", proof(None, "p1")).await;
    let nonce = header(&challenge, "dpop-nonce");
    let granted = token_request(
        &emulator,
        &assertion,
        "okta.users.read",
        proof(Some(&nonce), "p2"),
    )
    .await;
    assert_eq!(granted.status(), 200);
    let access = granted.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let users_url = format!("{}/api/v1/users", emulator.url());
    let call = |key, jti: &'static str| {
        http()
            .get(&users_url)
            .header("Authorization", format!("DPoP {access}"))
            .header(
                "DPoP",
                testing::dpop_proof(key, "GET", &users_url, None, Some(&access), jti),
            )
            .send()
    };
    assert_eq!(call(&CLIENT_RSA, "r1").await.unwrap().status(), 200);
    assert_eq!(
        call(&DPOP_EC, "r2").await.unwrap().status(),
        400,
        "bound to the RSA key"
    );
    emulator.stop().await;
}

#[tokio::test]
async fn client_assertions_are_checked_claim_by_claim() {
    let emulator = start(oauth_options(false)).await;
    let token_url = format!("{}/oauth2/v1/token", emulator.url());
    let now = jiff::Timestamp::now().as_second();
    let sign = |claims: Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(CLIENT_RSA.algorithm),
            &claims,
            &CLIENT_RSA.encoding_key(),
        )
        .unwrap()
    };
    let claims = |change: &dyn Fn(&mut Value)| {
        let mut claims = json!({"iss": "0oaRsaApp", "sub": "0oaRsaApp", "aud": token_url,
                                "iat": now, "exp": now + 300, "jti": format!("j{}", next_jti_number())});
        change(&mut claims);
        sign(claims)
    };
    let cases: Vec<(&str, String)> = vec![
        ("exp two hours ahead", claims(&|c| c["exp"] = json!(now + 7200))),
        ("expired", claims(&|c| c["exp"] = json!(now - 600))),
        ("sub differs from iss", claims(&|c| c["sub"] = json!("0oaOther"))),
        ("unknown client", claims(&|c| {
            c["iss"] = json!("0oaNobody");
            c["sub"] = json!("0oaNobody");
        })),
        ("no exp", claims(&|c| {
            c.as_object_mut().unwrap().remove("exp");
        })),
        (
            "HS256",
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &json!({"iss": "0oaRsaApp", "sub": "0oaRsaApp", "aud": token_url, "exp": now + 300}),
                &jsonwebtoken::EncodingKey::from_secret(b"secret"),
            )
            .unwrap(),
        ),
    ];
    for (case, assertion) in cases {
        let response = token_request(&emulator, &assertion, "okta.users.read", None).await;
        assert_eq!(response.status(), 401, "{case}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{case}: {body}");
    }
    let good = claims(&|_| {});
    assert_eq!(
        token_request(&emulator, &good, "okta.users.read", None)
            .await
            .status(),
        200
    );
    emulator.stop().await;
}

fn next_jti_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test]
async fn token_requests_need_the_form_grant_and_assertion_type() {
    let emulator = start(oauth_options(false)).await;
    let url = format!("{}/oauth2/v1/token", emulator.url());
    let json_body = http()
        .post(&url)
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 400);
    let wrong_grant = http()
        .post(&url)
        .form(&[("grant_type", "password"), ("scope", "okta.users.read")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong_grant.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    let secret = http()
        .post(&url)
        .basic_auth("0oaRsaApp", Some("client-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "okta.users.read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(secret.status(), 401);
    let body: Value = secret.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("private_key_jwt")
    );
    // The published examples of Okta's OAuth spec, word for word.
    let form = |extra: &[(&'static str, &'static str)]| {
        let mut fields = vec![
            ("grant_type", "client_credentials"),
            ("scope", "okta.users.read"),
        ];
        fields.extend_from_slice(extra);
        fields
    };
    // (form fields, status, error, error_description)
    type Refusal = (
        Vec<(&'static str, &'static str)>,
        u16,
        &'static str,
        &'static str,
    );
    let cases: [Refusal; 4] = [
        (
            vec![("grant_type", "password")],
            400,
            "unsupported_grant_type",
            "The grant type in the request isn't supported.",
        ),
        (
            form(&[]),
            401,
            "invalid_client",
            "No client credentials found",
        ),
        (
            form(&[
                ("client_assertion", "x.y.z"),
                ("client_assertion_type", "jwt"),
            ]),
            400,
            "invalid_request",
            "The `client_assertion_type` is invalid.",
        ),
        (
            form(&[("client_assertion", "x.y.z"), ("client_secret", "s")]),
            400,
            "invalid_request",
            "Can't supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a `client_assertion` in the post body.",
        ),
    ];
    for (fields, status, error, description) in cases {
        let answer = http().post(&url).form(&fields).send().await.unwrap();
        assert_eq!(answer.status(), status, "{description}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"], error);
        assert_eq!(body["error_description"], description);
    }
    emulator.stop().await;
}
