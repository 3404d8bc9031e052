//! Rate-limit buckets and the concurrency limit.

use crate::common::*;

#[tokio::test]
async fn rate_limit_headers_count_down_then_429_then_reset_after_the_window() {
    let window = Duration::from_secs(2);
    let emulator = start(OktaOptions {
        rate_limits: RateLimits {
            per_bucket: [(Bucket::Logs, 3)].into(),
            window,
        },
        ..options()
    })
    .await;
    let url = format!("{}/api/v1/logs", emulator.url());
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = get(&url).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "x-rate-limit-limit"), "3");
        remaining.push(header(&response, "x-rate-limit-remaining"));
        let reset: u64 = header(&response, "x-rate-limit-reset").parse().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            reset >= now && reset <= now + 3,
            "reset {reset} is the window's end, now {now}"
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let refused = get(&url).await;
    assert!(refused.headers().contains_key("date"));
    assert_eq!(header(&refused, "x-rate-limit-remaining"), "0");
    let body = assert_okta_error(refused, 429, "E0000047").await;
    assert_eq!(
        body["errorSummary"],
        "API call exceeded rate limit due to too many requests."
    );
    let other_bucket = get(&format!("{}/api/v1/users?limit=1", emulator.url())).await;
    assert_eq!(other_bucket.status(), 200);
    tokio::time::sleep(window + Duration::from_millis(100)).await;
    let again = get(&url).await;
    assert_eq!(again.status(), 200);
    assert_eq!(header(&again, "x-rate-limit-remaining"), "2");
    emulator.stop().await;
}

#[tokio::test]
async fn too_many_requests_in_flight_get_a_concurrency_429() {
    let hang = |nth| ScriptedFault {
        path: "/api/v1/logs".into(),
        nth,
        fault: Fault::Timeout,
    };
    let emulator = start(OktaOptions {
        concurrency: 2,
        faults: Faults {
            timeout: Duration::from_secs(3),
            scripted: vec![hang(1), hang(2)],
            ..Faults::default()
        },
        ..options()
    })
    .await;
    let url = format!("{}/api/v1/logs", emulator.url());
    let hanging: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { get(&url).await.status() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = get(&format!("{}/api/v1/users?limit=1", emulator.url())).await;
    assert_eq!(header(&refused, "x-rate-limit-limit"), "0");
    assert_eq!(header(&refused, "x-rate-limit-remaining"), "0");
    assert_okta_error(refused, 429, "E0000047").await;
    for request in hanging {
        assert_eq!(request.await.unwrap(), 500);
    }
    assert_eq!(
        get(&url).await.status(),
        200,
        "capacity is back once they finish"
    );
    emulator.stop().await;
}
