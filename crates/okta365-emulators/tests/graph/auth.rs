//! Token endpoint, bearer checks and permissions.

use crate::support::*;

#[tokio::test]
async fn token_endpoint_issues_bearer_tokens_and_aadsts_errors() {
    let emu = GraphEmulator::start(acme_options()).await.unwrap();
    let good = [
        ("grant_type", "client_credentials"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let resp = token_response(&emu, &good).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().unwrap() > 0);
    assert!(body["access_token"].as_str().unwrap().starts_with("eyJ"));

    let mut bad_secret = good;
    bad_secret[2] = ("client_secret", "wrong");
    let resp = token_response(&emu, &bad_secret).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], json!([7000215]));
    let description = body["error_description"].as_str().unwrap();
    assert!(description.starts_with("AADSTS7000215:"), "{description}");
    assert!(description.contains("\r\nTrace ID: "), "{description}");
    assert!(
        !description.contains("wrong"),
        "the secret never appears in errors"
    );
    assert!(body["trace_id"].is_string() && body["correlation_id"].is_string());

    let mut unknown_app = good;
    unknown_app[1] = ("client_id", "11111111-2222-3333-4444-555555555555");
    let body: Value = token_response(&emu, &unknown_app)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(body["error_codes"], json!([700016]));

    let mut bad_scope = good;
    bad_scope[3] = ("scope", "User.Read");
    let body: Value = token_response(&emu, &bad_scope).await.json().await.unwrap();
    assert_eq!(body["error"], "invalid_scope");

    let resp = client()
        .post(format!(
            "{}/not-a-tenant.example/oauth2/v2.0/token",
            emu.url()
        ))
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error_codes"], json!([90002]));
    emu.stop().await;
}

#[tokio::test]
async fn client_assertions_are_verified_with_the_registered_key() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let public = std::fs::read_to_string(dir.join("test-app-key.pub.pem")).unwrap();
    let private = std::fs::read(dir.join("test-app-key.pem")).unwrap();
    let cert_app = "0c8e9a3f-1b2d-4c5e-8f70-9a1b2c3d4e5f";
    let opts = GraphOptions {
        apps: vec![AppRegistration {
            client_id: cert_app.into(),
            client_secret: None,
            certificate: Some(CertificateCredential {
                public_key_pem: public,
                thumbprint_sha1: Some("q2VK0B8mZk6o1L0Jc0V0wZk3Q2E".into()),
                thumbprint_sha256: Some("3kV1nY0y2b8H1c0dWcQe1tQm3x8Zq9s7Lr5aVb2xT0E".into()),
            }),
            roles: ["User.Read.All".to_owned()].into(),
        }],
        ..acme_options()
    };
    let emu = GraphEmulator::start(opts).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let sign = |aud: &str, exp: u64, x5t: &str| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.x5t = Some(x5t.to_owned());
        let claims = json!({"aud": aud, "iss": cert_app, "sub": cert_app, "jti": "1", "nbf": now - 5, "iat": now - 5, "exp": exp});
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_rsa_pem(&private).unwrap(),
        )
        .unwrap()
    };
    // The current documented form: PS256 with an `x5t#S256` thumbprint, aud on login.microsoftonline.com.
    let ps256 = {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256);
        header.x5t_s256 = Some("3kV1nY0y2b8H1c0dWcQe1tQm3x8Zq9s7Lr5aVb2xT0E".to_owned());
        let claims = json!({"aud": format!("https://login.microsoftonline.com/{DEFAULT_TENANT_ID}/oauth2/v2.0/token"),
            "iss": cert_app, "sub": cert_app, "jti": "2", "nbf": now - 5, "iat": now - 5, "exp": now + 300});
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_rsa_pem(&private).unwrap(),
        )
        .unwrap()
    };
    let aud = format!("{}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token", emu.url());
    let ask = |assertion: String| {
        let emu = &emu;
        async move {
            let resp = token_response(
                emu,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", cert_app),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion),
                    ("scope", "https://graph.microsoft.com/.default"),
                ],
            )
            .await;
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = ask(sign(&aud, now + 300, "q2VK0B8mZk6o1L0Jc0V0wZk3Q2E")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let resp = client()
        .get(format!("{}/v1.0/users?$top=1", emu.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    let (status, body) = ask(ps256).await;
    assert_eq!(status, StatusCode::OK, "PS256 with x5t#S256: {body}");
    let (status, body) = ask(sign(&aud, now + 300, "some-other-thumbprint")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_codes"], json!([700027]));
    let (status, body) = ask(sign(&aud, now - 120, "q2VK0B8mZk6o1L0Jc0V0wZk3Q2E")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_codes"], json!([700024]));
    let (status, _) = ask(sign(
        "https://elsewhere.example/token",
        now + 300,
        "q2VK0B8mZk6o1L0Jc0V0wZk3Q2E",
    ))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    emu.stop().await;
}

#[tokio::test]
async fn graph_refuses_missing_bad_and_revoked_tokens_and_missing_permissions() {
    let reader = "7a1b2c3d-0000-4000-8000-00000000beef";
    let opts = GraphOptions {
        apps: vec![
            AppRegistration::default(),
            AppRegistration {
                client_id: reader.into(),
                client_secret: Some("reader-secret".into()),
                certificate: None,
                roles: ["User.Read.All".to_owned()].into(),
            },
        ],
        ..acme_options()
    };
    let t = Tenant::start(opts).await;
    let resp = t.http.get(t.url("/users")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().get("request-id").is_some());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    let inner = &body["error"]["innerError"];
    assert!(inner["request-id"].is_string() && inner["client-request-id"].is_string());
    assert!(
        !inner["date"].as_str().unwrap().ends_with('Z'),
        "innerError.date has no zone"
    );

    let resp = t
        .http
        .get(t.url("/users"))
        .bearer_auth("eyJnot.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let reader_token = token_for(&t.emu, reader, "reader-secret").await;
    let get = |path: &str| t.http.get(t.url(path)).bearer_auth(&reader_token).send();
    assert_eq!(get("/users").await.unwrap().status(), StatusCode::OK);
    let resp = get("/groups").await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(
        body["error"]["message"],
        "Insufficient privileges to complete the operation."
    );

    let (status, body) = t.get("/me").await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "app-only tokens have no /me: {body}"
    );
    let resp = t
        .http
        .get(format!(
            "{}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token",
            t.emu.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error_codes"],
        json!([900561])
    );

    t.emu.revoke_tokens();
    assert_eq!(
        get("/users").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    t.emu.stop().await;
}

#[tokio::test]
async fn expired_tokens_get_401() {
    let t = Tenant::start(GraphOptions {
        token_lifetime: Duration::from_secs(1),
        ..acme_options()
    })
    .await;
    assert_eq!(t.get("/users?$top=1").await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = t.get("/users?$top=1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    t.emu.stop().await;
}

#[tokio::test]
async fn the_emulator_refuses_non_loopback_addresses() {
    let err = GraphEmulator::start_on(acme_options(), "0.0.0.0:0".parse().unwrap())
        .await
        .err()
        .unwrap();
    assert!(err.contains("loopback"), "{err}");
}
