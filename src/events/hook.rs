//! What arrives: Okta event hook deliveries (the `com.okta.event_hook`
//! envelope, events under `data.events`) and single System Log events, each
//! checked into either an event to journal or a rejection with its reason.
//! Nothing here fails as a whole because of one bad event.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::LogEvent;

/// One event as received.
#[derive(Clone, Debug, PartialEq)]
pub enum Received {
    /// A well-formed System Log event.
    Event {
        /// The event.
        event: Box<LogEvent>,
        /// Its JSON, as received.
        raw: String,
    },
    /// Something that is not one: kept with the reason, never acted on.
    Rejected {
        /// The event's `uuid` when it has one, else `unkeyed:` and a hash of the text.
        id: String,
        /// What is wrong with it.
        reason: String,
        /// The text as received.
        raw: String,
    },
}

impl Received {
    /// The key the journal stores it under.
    pub fn id(&self) -> &str {
        match self {
            Self::Event { event, .. } => &event.uuid,
            Self::Rejected { id, .. } => id,
        }
    }
}

/// The events of one hook delivery, or why the delivery as a whole is not
/// an event hook envelope.
pub fn delivery(body: &[u8]) -> Result<Vec<Received>, String> {
    let envelope: Value =
        serde_json::from_slice(body).map_err(|e| format!("the delivery is not JSON: {e}"))?;
    if let Some(kind) = envelope.get("eventType").and_then(Value::as_str)
        && kind != "com.okta.event_hook"
    {
        return Err(format!(
            "the delivery's eventType is `{kind}`, not `com.okta.event_hook`"
        ));
    }
    let events = envelope
        .pointer("/data/events")
        .and_then(Value::as_array)
        .ok_or("the delivery has no `data.events` array")?;
    Ok(events.iter().map(event).collect())
}

/// Checks one System Log event.
pub fn event(value: &Value) -> Received {
    let raw = value.to_string();
    let uuid = value.get("uuid").and_then(Value::as_str).unwrap_or("");
    let reject = |reason: String| Received::Rejected {
        id: if uuid.is_empty() {
            unkeyed(&raw)
        } else {
            uuid.to_owned()
        },
        reason,
        raw: raw.clone(),
    };
    if !value.is_object() {
        return reject("not a JSON object".into());
    }
    if uuid.is_empty() {
        return reject("no `uuid`".into());
    }
    if value
        .get("eventType")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return reject("no `eventType`".into());
    }
    match serde_json::from_value::<LogEvent>(value.clone()) {
        Ok(event) => Received::Event {
            event: Box::new(event),
            raw,
        },
        Err(e) => reject(format!("not an Okta System Log event: {e}")),
    }
}

/// One line of a System Log export (`watch --events`).
pub fn line(text: &str) -> Received {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => event(&value),
        Err(e) => Received::Rejected {
            id: unkeyed(text),
            reason: format!("not JSON: {e}"),
            raw: text.to_owned(),
        },
    }
}

/// A whole delivery refused (not an event hook envelope), as a rejection to journal.
pub fn rejected_delivery(body: &[u8], reason: String) -> Received {
    let raw = String::from_utf8_lossy(body).into_owned();
    Received::Rejected {
        id: unkeyed(&raw),
        reason,
        raw,
    }
}

/// A stable key for something without a `uuid`: the same text twice is one record.
fn unkeyed(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("unkeyed:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_yields_each_event_and_rejects_only_the_bad_ones() {
        let body = serde_json::json!({
            "eventType": "com.okta.event_hook",
            "data": { "events": [
                { "uuid": "u1", "eventType": "user.lifecycle.suspend", "target": [] },
                { "uuid": "u2" },
                { "eventType": "user.lifecycle.suspend" },
                { "uuid": "u4", "eventType": "x", "target": "not a list" },
                42,
            ] }
        });
        let got = delivery(body.to_string().as_bytes()).unwrap();
        assert!(matches!(&got[0], Received::Event { event, .. } if event.uuid == "u1"));
        let reasons: Vec<(&str, String)> = got[1..]
            .iter()
            .map(|r| match r {
                Received::Rejected { id, reason, .. } => (id.as_str(), reason.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(reasons[0], ("u2", "no `eventType`".to_owned()));
        assert!(reasons[1].0.starts_with("unkeyed:") && reasons[1].1 == "no `uuid`");
        assert_eq!(reasons[2].0, "u4");
        assert!(reasons[2].1.contains("not an Okta System Log event"));
        assert_eq!(reasons[3].1, "not a JSON object");
    }

    #[test]
    fn a_body_that_is_no_envelope_is_refused_whole() {
        assert!(delivery(b"not json").unwrap_err().contains("not JSON"));
        assert!(
            delivery(br#"{"data":{}}"#)
                .unwrap_err()
                .contains("data.events")
        );
        let other = br#"{"eventType":"com.okta.oauth2.tokens.transform","data":{"events":[]}}"#;
        assert!(
            delivery(other)
                .unwrap_err()
                .contains("not `com.okta.event_hook`")
        );
    }

    #[test]
    fn unkeyed_rejections_are_stable() {
        assert_eq!(line("garbage").id(), line("garbage").id());
        assert_ne!(line("garbage").id(), line("rubbish").id());
    }
}
