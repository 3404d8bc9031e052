//! Seeded, scripted and page faults: errors, timeouts, resets.

use crate::common::*;

async fn statuses(seed: u64) -> Vec<u16> {
    let emulator = start(OktaOptions {
        seed,
        faults: Faults {
            error_rate: 0.3,
            ..Faults::default()
        },
        ..options()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(
            get(&format!("{}/api/v1/groups", emulator.url()))
                .await
                .status()
                .as_u16(),
        );
    }
    emulator.stop().await;
    statuses
}

#[tokio::test]
async fn faults_are_reproducible_for_a_seed() {
    let first = statuses(11).await;
    assert_eq!(first, statuses(11).await);
    assert_ne!(first, statuses(12).await);
    let failures = first.iter().filter(|s| **s >= 500).count();
    assert!(
        (2..=20).contains(&failures),
        "{failures} failures in 30 at 30%: {first:?}"
    );
}

#[tokio::test]
async fn scripted_faults_fail_the_given_page_and_resets_drop_the_connection() {
    let emulator = start(OktaOptions {
        faults: Faults {
            scripted: vec![
                ScriptedFault {
                    path: "/api/v1/users".into(),
                    nth: 3,
                    fault: Fault::Status(500),
                },
                ScriptedFault {
                    path: "/api/v1/groups".into(),
                    nth: 1,
                    fault: Fault::Reset,
                },
            ],
            ..Faults::default()
        },
        ..options()
    })
    .await;
    let mut url = format!("{}/api/v1/users?limit=10", emulator.url());
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = get(&url).await;
        statuses.push(response.status().as_u16());
        if let Some(next) = next_link(&response) {
            url = next;
        }
    }
    assert_eq!(statuses, [200, 200, 500]);
    assert_eq!(
        get(&url).await.status(),
        200,
        "the retry of page 3 succeeds"
    );
    let reset = http()
        .get(format!("{}/api/v1/groups", emulator.url()))
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await;
    assert!(reset.is_err(), "the connection was reset: {reset:?}");
    assert_eq!(
        get(&format!("{}/api/v1/groups", emulator.url()))
            .await
            .status(),
        200
    );
    let counts = emulator.request_counts();
    assert_eq!(counts["GET /api/v1/users"], 4);
    assert_eq!(counts["GET /api/v1/groups"], 2);
    emulator.stop().await;
}

#[tokio::test]
async fn a_timeout_fault_hangs_past_the_clients_deadline() {
    let emulator = start(OktaOptions {
        faults: Faults {
            timeout: Duration::from_secs(5),
            scripted: vec![ScriptedFault {
                path: "/api/v1/logs".into(),
                nth: 1,
                fault: Fault::Timeout,
            }],
            ..Faults::default()
        },
        ..options()
    })
    .await;
    let url = format!("{}/api/v1/logs", emulator.url());
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let hung = impatient
        .get(&url)
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await;
    assert!(hung.unwrap_err().is_timeout());
    assert_eq!(get(&url).await.status(), 200);
    emulator.stop().await;
}

#[tokio::test]
async fn a_page_fault_fails_that_page_of_a_traversal_even_on_retries() {
    let emulator = start(OktaOptions {
        faults: Faults {
            pages: vec![PageFault {
                path: "/api/v1/users".into(),
                page: 3,
                fault: Fault::Status(503),
                times: Some(2),
            }],
            ..Faults::default()
        },
        ..options()
    })
    .await;
    let mut url = format!("{}/api/v1/users?limit=10", emulator.url());
    let mut statuses = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..20 {
        let response = get(&url).await;
        statuses.push(response.status().as_u16());
        if response.status() != 200 {
            continue; // retry the same page
        }
        let next = next_link(&response);
        let page: Vec<Value> = response.json().await.unwrap();
        ids.extend(page.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match next {
            Some(next) => url = next,
            None => break,
        }
    }
    assert_eq!(statuses[..5], [200, 200, 503, 503, 200]);
    assert_eq!(
        ids.len(),
        acme_users().len() - 2,
        "every active user once despite the faults"
    );
    emulator.stop().await;
}
