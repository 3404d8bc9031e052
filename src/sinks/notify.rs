//! Chat notifications: an apply's summary, a plan okta365 refused, and an
//! incident lockdown, posted to Slack incoming webhooks and Microsoft Teams
//! (Workflows) webhooks. A failed post is a warning, never a failed run.
//!
//! [`Notifier`] is the API other long-running parts (event mode, `serve`)
//! call: `Notifier::from_config(&config.audit.notify)?.notify(&notice).await`.

use serde_json::{Value, json};

use super::config::{ChatKind, NoticeKind, NotifyConfig};
use super::origin::Origin;
use crate::secret::Secret;

/// Something worth telling a channel.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// An apply finished.
    Applied {
        /// Actions done, failed and skipped.
        done: usize,
        /// Actions that failed.
        failed: usize,
        /// Actions not attempted because one they depend on failed.
        skipped: usize,
        /// The plan's closing line (`Plan: 3 to create, …`).
        summary: String,
        /// The plan's cost line, when prices are configured.
        cost: Option<String>,
        /// The plan's fingerprint.
        fingerprint: String,
        /// Who and where.
        origin: Origin,
    },
    /// A plan okta365 would not apply.
    Refused {
        /// What was refused (`the saved plan plan.json`, `the plan`).
        what: String,
        /// Why, one line a reason.
        reasons: Vec<String>,
        /// Who and where.
        origin: Origin,
    },
    /// An account locked after an Okta event.
    Lockdown {
        /// The Okta event type (`user.lifecycle.suspend`).
        event_type: String,
        /// The Okta event id.
        event_id: String,
        /// The actions taken (`- user ana@acme.example (disable)`), and how each ended.
        actions: Vec<String>,
        /// Who and where.
        origin: Origin,
    },
}

impl Notice {
    /// The kind, for the `on:` filter.
    pub fn kind(&self) -> NoticeKind {
        match self {
            Self::Applied { .. } => NoticeKind::Apply,
            Self::Refused { .. } => NoticeKind::Refused,
            Self::Lockdown { .. } => NoticeKind::Lockdown,
        }
    }

    /// One line that says it all.
    pub fn title(&self) -> String {
        match self {
            Self::Applied {
                done,
                failed,
                skipped,
                ..
            } if *failed + *skipped > 0 => format!(
                "okta365 apply finished with failures: {done} done, {failed} failed, {skipped} skipped"
            ),
            Self::Applied { done, .. } => format!("okta365 applied {done} changes to Office 365"),
            Self::Refused { what, .. } => format!("okta365 refused {what}: nothing was changed"),
            Self::Lockdown { event_type, .. } => {
                format!("okta365 locked an account after {event_type}")
            }
        }
    }

    /// The body, a line each.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Self::Applied {
                summary,
                cost,
                fingerprint,
                ..
            } => {
                let mut lines = vec![summary.clone()];
                lines.extend(cost.iter().map(|c| format!("Cost: {c}")));
                lines.push(format!("Plan {}", short(fingerprint)));
                lines
            }
            Self::Refused { reasons, .. } => reasons.clone(),
            Self::Lockdown {
                event_id, actions, ..
            } => {
                let mut lines = vec![format!("Okta event {event_id}")];
                lines.extend(actions.iter().cloned());
                lines
            }
        }
    }

    /// Who and where, as (label, value) pairs.
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        let origin = match self {
            Self::Applied { origin, .. }
            | Self::Refused { origin, .. }
            | Self::Lockdown { origin, .. } => origin,
        };
        let mut facts = vec![
            ("actor", origin.actor.clone()),
            ("host", origin.host.clone()),
        ];
        if let Some(run) = &origin.ci_run {
            facts.push(("CI run", run.clone()));
        }
        if let Some(commit) = &origin.policy_commit {
            facts.push(("policies", short(commit).to_owned()));
        }
        facts.push(("okta365", origin.okta365_version.clone()));
        facts
    }
}

fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}

/// Cuts text to `max` characters (chat services refuse longer fields).
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A Slack incoming-webhook payload: a header, the lines, and the origin.
pub fn slack_payload(notice: &Notice) -> Value {
    let title = notice.title();
    let body = cut(&notice.lines().join("\n"), 2900);
    let facts: Vec<String> = notice
        .facts()
        .iter()
        .map(|(k, v)| format!("*{k}:* {v}"))
        .collect();
    json!({
        "text": cut(&format!("{title}\n{body}"), 3000),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": cut(&title, 150)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(&facts.join("  ·  "), 2900)}]},
        ],
    })
}

/// A Teams Workflows payload: a message with one Adaptive Card.
pub fn teams_payload(notice: &Notice) -> Value {
    let mut body = vec![json!({
        "type": "TextBlock", "text": notice.title(), "weight": "Bolder", "size": "Medium", "wrap": true
    })];
    for line in notice.lines().iter().take(50) {
        body.push(json!({"type": "TextBlock", "text": cut(line, 1000), "wrap": true}));
    }
    let facts: Vec<Value> = notice
        .facts()
        .into_iter()
        .map(|(k, v)| json!({"title": k, "value": v}))
        .collect();
    body.push(json!({"type": "FactSet", "facts": facts}));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            },
        }],
    })
}

/// A chat channel.
struct Target {
    kind: ChatKind,
    /// Which environment variable the URL came from (shown instead of it).
    env: String,
    url: Secret,
    on: Vec<NoticeKind>,
}

/// Posts notices to the configured channels.
pub struct Notifier {
    client: reqwest::Client,
    targets: Vec<Target>,
}

impl Notifier {
    /// Reads each channel's webhook URL from its environment variable.
    /// Fails when one is missing or not https (loopback http excepted).
    pub fn from_config(configs: &[NotifyConfig]) -> Result<Self, String> {
        let mut targets = Vec::new();
        for c in configs {
            let url =
                Secret::from_env(&c.webhook_url_env).map_err(|e| format!("notifications: {e}"))?;
            super::config::check_url(url.expose()).map_err(|why| {
                format!("notifications: the URL in `{}` {why}", c.webhook_url_env)
            })?;
            targets.push(Target {
                kind: c.kind,
                env: c.webhook_url_env.clone(),
                url,
                on: c.on.clone(),
            });
        }
        Ok(Self {
            client: super::http::client(10.0, None)?,
            targets,
        })
    }

    /// Whether no channel is configured.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Posts `notice` to every channel that wants its kind. Returns one
    /// warning per channel that could not be reached (never its URL).
    pub async fn notify(&self, notice: &Notice) -> Vec<String> {
        let mut warnings = Vec::new();
        for target in self
            .targets
            .iter()
            .filter(|t| t.on.contains(&notice.kind()))
        {
            let payload = match target.kind {
                ChatKind::Slack => slack_payload(notice),
                ChatKind::Teams => teams_payload(notice),
            };
            let mut last = None;
            for attempt in 0..3 {
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(500 << attempt)).await;
                }
                let sent = self
                    .client
                    .post(target.url.expose())
                    .json(&payload)
                    .send()
                    .await;
                let judged = match sent {
                    Ok(response) => super::http::judge(response).await,
                    Err(e) => Err(super::http::transport(e)),
                };
                match judged {
                    Ok(()) => {
                        last = None;
                        break;
                    }
                    Err(e) => {
                        let retry = e.retry;
                        last = Some(e.message);
                        if !retry {
                            break;
                        }
                    }
                }
            }
            if let Some(e) = last {
                warnings.push(format!(
                    "could not notify the {} channel in `{}`: {e}",
                    match target.kind {
                        ChatKind::Slack => "Slack",
                        ChatKind::Teams => "Teams",
                    },
                    target.env
                ));
            }
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            actor: "octocat".into(),
            ci_run: Some("https://github.com/acme/policies/actions/runs/9/attempts/1".into()),
            host: "runner-1".into(),
            okta365_version: "0.1.0".into(),
            policy_commit: Some("0123456789abcdef".into()),
        }
    }

    #[test]
    fn a_lockdown_reads_well_in_slack_and_teams() {
        let notice = Notice::Lockdown {
            event_type: "user.lifecycle.suspend".into(),
            event_id: "evt-1".into(),
            actions: vec!["done  - user ana@acme.example (disable)".into()],
            origin: origin(),
        };
        let slack = slack_payload(&notice);
        assert_eq!(
            slack["blocks"][0]["text"]["text"],
            "okta365 locked an account after user.lifecycle.suspend"
        );
        assert!(
            slack["blocks"][1]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("ana@acme.example")
        );
        assert!(
            slack["blocks"][2]["elements"][0]["text"]
                .as_str()
                .unwrap()
                .contains("*policies:* 0123456789ab")
        );
        let teams = teams_payload(&notice);
        let card = &teams["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        assert_eq!(card["content"]["body"][0]["weight"], "Bolder");
        let facts = card["content"]["body"].as_array().unwrap().last().unwrap();
        assert_eq!(facts["type"], "FactSet");
        assert_eq!(facts["facts"][0]["value"], "octocat");
    }

    #[test]
    fn an_apply_with_failures_says_so_in_the_title() {
        let notice = Notice::Applied {
            done: 3,
            failed: 1,
            skipped: 2,
            summary: "Plan: 6 to create.".into(),
            cost: Some("this plan: +1 SPE_E3: +$36/month".into()),
            fingerprint: "abcdef0123456789".into(),
            origin: origin(),
        };
        assert_eq!(
            notice.title(),
            "okta365 apply finished with failures: 3 done, 1 failed, 2 skipped"
        );
        assert_eq!(notice.lines()[1], "Cost: this plan: +1 SPE_E3: +$36/month");
    }
}
