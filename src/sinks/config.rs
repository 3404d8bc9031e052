//! The `audit.sinks` and `audit.notify` sections of the config: where audit
//! records are forwarded (Splunk HEC, syslog, a JSON webhook) and which chat
//! webhooks hear about applies, refused plans and lockdowns. Plain data and
//! pure checks; secrets are named here (environment variables), never held.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where audit records are forwarded, besides the audit file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SinkConfig {
    /// Splunk HTTP Event Collector (`/services/collector/event`).
    SplunkHec(SplunkHec),
    /// Syslog (RFC 5424) over UDP, TCP or TLS.
    Syslog(Syslog),
    /// A JSON `POST` of each batch of records to any URL.
    Webhook(Webhook),
}

impl SinkConfig {
    /// The sink's name (its spool folder, and how messages refer to it).
    pub fn name(&self) -> String {
        let (name, kind) = match self {
            Self::SplunkHec(s) => (&s.name, "splunk"),
            Self::Syslog(s) => (&s.name, "syslog"),
            Self::Webhook(s) => (&s.name, "webhook"),
        };
        name.clone().unwrap_or_else(|| kind.to_owned())
    }

    /// Delivery settings.
    pub fn delivery(&self) -> Delivery {
        let (batch_size, max_attempts, timeout_seconds) = match self {
            Self::SplunkHec(s) => (s.batch_size, s.max_attempts, s.timeout_seconds),
            Self::Syslog(s) => (s.batch_size, s.max_attempts, s.timeout_seconds),
            Self::Webhook(s) => (s.batch_size, s.max_attempts, s.timeout_seconds),
        };
        Delivery {
            batch_size: batch_size.max(1),
            max_attempts: max_attempts.max(1),
            timeout_seconds,
        }
    }
}

/// How records are batched and retried.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Delivery {
    /// Records a batch.
    pub batch_size: usize,
    /// Attempts per batch.
    pub max_attempts: u32,
    /// Seconds to wait for a connection or an answer.
    pub timeout_seconds: f64,
}

fn default_batch_size() -> usize {
    100
}

fn default_max_attempts() -> u32 {
    5
}

fn default_timeout_seconds() -> f64 {
    10.0
}

/// A Splunk HTTP Event Collector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplunkHec {
    /// A name for the sink (default `splunk`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The collector's base URL, such as `https://splunk.example.com:8088`.
    #[schemars(url)]
    pub url: String,
    /// The environment variable holding the HEC token.
    #[serde(default = "default_splunk_token_env")]
    pub token_env: String,
    /// The index (default: the token's default index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// The events' `source`.
    #[serde(default = "default_source")]
    pub source: String,
    /// The events' `sourcetype`.
    #[serde(default = "default_sourcetype")]
    pub sourcetype: String,
    /// A PEM file of the CA that signed the collector's certificate, when
    /// it is not one the system trusts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Records sent in one request (in one connection, for syslog).
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 10000))]
    pub batch_size: usize,
    /// Attempts per batch before it is left in the spool for the next run.
    #[serde(default = "default_max_attempts")]
    #[schemars(range(min = 1, max = 20))]
    pub max_attempts: u32,
    /// Seconds to wait for a connection or an answer.
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 0.1))]
    pub timeout_seconds: f64,
}

fn default_splunk_token_env() -> String {
    "OKTA365_SPLUNK_TOKEN".into()
}

fn default_source() -> String {
    "okta365".into()
}

fn default_sourcetype() -> String {
    "okta365:audit".into()
}

/// A syslog receiver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Syslog {
    /// A name for the sink (default `syslog`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `host:port` of the receiver (514 for UDP and TCP, 6514 for TLS).
    pub address: String,
    /// `tls` (default, RFC 5425), `tcp` (RFC 6587 octet counting) or `udp`
    /// (RFC 5426; no delivery guarantee, large records may be dropped).
    #[serde(default)]
    pub transport: SyslogTransport,
    /// The facility (default `authpriv`).
    #[serde(default)]
    pub facility: Facility,
    /// `APP-NAME` of each message.
    #[serde(default = "default_source")]
    pub app_name: String,
    /// The name the receiver's certificate is checked against (default: the host of `address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// A PEM file of the CA that signed the receiver's certificate, when it
    /// is not one the system trusts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Records sent in one request (in one connection, for syslog).
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 10000))]
    pub batch_size: usize,
    /// Attempts per batch before it is left in the spool for the next run.
    #[serde(default = "default_max_attempts")]
    #[schemars(range(min = 1, max = 20))]
    pub max_attempts: u32,
    /// Seconds to wait for a connection or an answer.
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 0.1))]
    pub timeout_seconds: f64,
}

/// How syslog messages travel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SyslogTransport {
    /// RFC 5426: one message a datagram.
    Udp,
    /// RFC 6587: octet-counted messages on a TCP connection.
    Tcp,
    /// RFC 5425: octet-counted messages over TLS.
    #[default]
    Tls,
}

/// Syslog facilities (RFC 5424 section 6.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Facility {
    /// Security/authorization messages (4).
    Auth,
    /// Security/authorization messages, private (10).
    #[default]
    Authpriv,
    /// Log audit (13).
    Audit,
    /// Local use 0 (16).
    Local0,
    /// Local use 1 (17).
    Local1,
    /// Local use 2 (18).
    Local2,
    /// Local use 3 (19).
    Local3,
    /// Local use 4 (20).
    Local4,
    /// Local use 5 (21).
    Local5,
    /// Local use 6 (22).
    Local6,
    /// Local use 7 (23).
    Local7,
}

impl Facility {
    /// The facility's number.
    pub fn code(self) -> u8 {
        match self {
            Self::Auth => 4,
            Self::Authpriv => 10,
            Self::Audit => 13,
            Self::Local0 => 16,
            Self::Local1 => 17,
            Self::Local2 => 18,
            Self::Local3 => 19,
            Self::Local4 => 20,
            Self::Local5 => 21,
            Self::Local6 => 22,
            Self::Local7 => 23,
        }
    }
}

/// A JSON webhook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// A name for the sink (default `webhook`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The URL each batch is `POST`ed to, as `{"source": "okta365", "records": […]}`.
    #[schemars(url)]
    pub url: String,
    /// An environment variable holding a token sent as `Authorization: Bearer …`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_env: Option<String>,
    /// Records sent in one request (in one connection, for syslog).
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 10000))]
    pub batch_size: usize,
    /// Attempts per batch before it is left in the spool for the next run.
    #[serde(default = "default_max_attempts")]
    #[schemars(range(min = 1, max = 20))]
    pub max_attempts: u32,
    /// Seconds to wait for a connection or an answer.
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 0.1))]
    pub timeout_seconds: f64,
}

/// A chat channel that hears about applies, refused plans and lockdowns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// `slack` (an incoming webhook) or `teams` (a Workflows webhook taking Adaptive Cards).
    #[serde(rename = "type")]
    pub kind: ChatKind,
    /// The environment variable holding the webhook URL (the URL is a secret).
    pub webhook_url_env: String,
    /// What to post (default: all three).
    #[serde(default = "all_notices")]
    pub on: Vec<NoticeKind>,
}

/// Chat services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    /// Slack incoming webhooks.
    Slack,
    /// Microsoft Teams (Workflows "When a Teams webhook request is received").
    Teams,
}

/// Kinds of notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The summary of an apply.
    Apply,
    /// A plan okta365 refused to apply (stale, over a safety limit, …).
    Refused,
    /// An account locked after an Okta incident event.
    Lockdown,
}

fn all_notices() -> Vec<NoticeKind> {
    vec![NoticeKind::Apply, NoticeKind::Refused, NoticeKind::Lockdown]
}

/// Checks that `url` is `https`, or `http` to a loopback address (tests,
/// a local forwarder). Pure text checking; the client parses it fully.
pub fn check_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| "is not a URL".to_owned())?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    let loopback = host == "localhost" || host == "[::1]" || host.starts_with("127.");
    match scheme {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err("uses `http`: audit records and tokens travel only over https (http only to a loopback address)".into()),
        other => Err(format!("uses `{other}`: use https")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_unless_loopback() {
        assert!(check_url("https://splunk.example.com:8088").is_ok());
        assert!(check_url("http://127.0.0.1:8088/hook").is_ok());
        assert!(check_url("http://localhost/x").is_ok());
        assert!(check_url("http://splunk.example.com:8088").is_err());
        assert!(check_url("ftp://x").is_err());
        assert!(check_url("splunk:8088").is_err());
    }

    #[test]
    fn sinks_parse_with_defaults_and_refuse_unknown_fields() {
        let sink: SinkConfig = serde_json::from_value(serde_json::json!({
            "type": "splunk_hec", "url": "https://s:8088"
        }))
        .unwrap();
        let SinkConfig::SplunkHec(hec) = &sink else {
            panic!("{sink:?}")
        };
        assert_eq!(hec.token_env, "OKTA365_SPLUNK_TOKEN");
        assert_eq!(sink.delivery().batch_size, 100);
        assert_eq!(sink.name(), "splunk");
        let bad = serde_json::from_value::<SinkConfig>(serde_json::json!({
            "type": "syslog", "address": "h:514", "tranport": "udp"
        }));
        assert!(bad.is_err());
    }
}
