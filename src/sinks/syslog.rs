//! Syslog: each audit record as one RFC 5424 message (the record's JSON as
//! the message, its plan, action and result as structured data), sent over
//! UDP (RFC 5426, one datagram each), TCP (RFC 6587 octet counting) or TLS
//! (RFC 5425: octet counting over TLS, the receiver's certificate checked
//! against the system's roots or a given CA).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio_rustls::rustls;

use super::SendError;
use super::config::{Syslog, SyslogTransport};

/// The structured-data id of okta365's parameters. 32473 is the private
/// enterprise number IANA reserves for documentation (RFC 5612).
pub const SD_ID: &str = "okta365@32473";

/// Formats one record as an RFC 5424 message.
pub fn format(record: &Value, facility: u8, host: &str, app: &str, procid: u32) -> String {
    let severity = match record.get("result").and_then(Value::as_str) {
        Some("failed") => 3,
        Some("skipped") => 4,
        Some("done") => 5,
        _ => 6,
    };
    let pri = u16::from(facility) * 8 + severity;
    let time = record
        .get("time")
        .and_then(Value::as_str)
        .filter(|t| t.parse::<jiff::Timestamp>().is_ok())
        .unwrap_or("-");
    let msgid = record
        .get("kind")
        .and_then(Value::as_str)
        .map(|k| header_field(k, 32))
        .unwrap_or_else(|| "-".into());
    let mut sd = String::new();
    for key in ["plan", "action", "result", "target", "actor"] {
        let value = match record.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => continue,
        };
        sd.push_str(&format!(" {key}=\"{}\"", sd_escape(&value)));
    }
    let sd = if sd.is_empty() {
        "-".to_owned()
    } else {
        format!("[{SD_ID}{sd}]")
    };
    format!(
        "<{pri}>1 {time} {} {} {procid} {msgid} {sd} \u{feff}{record}",
        header_field(host, 255),
        header_field(app, 48),
    )
}

/// A header field: printable US-ASCII without spaces, at most `max` long,
/// `-` when nothing is left.
fn header_field(s: &str, max: usize) -> String {
    let f: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if f.is_empty() { "-".into() } else { f }
}

/// Escapes a structured-data value (`"`, `\` and `]`).
fn sd_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A syslog sender.
pub struct SyslogSender {
    address: String,
    transport: SyslogTransport,
    facility: u8,
    app: String,
    host: String,
    timeout: Duration,
    tls: Option<(
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    )>,
}

impl SyslogSender {
    /// Checks the address and, for TLS, loads the trusted roots.
    pub fn new(config: &Syslog, host: &str) -> Result<Self, String> {
        let (server, _port) = config
            .address
            .rsplit_once(':')
            .filter(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
            .ok_or_else(|| format!("syslog address `{}` is not host:port", config.address))?;
        let tls = match config.transport {
            SyslogTransport::Tls => {
                let name = config
                    .server_name
                    .clone()
                    .unwrap_or_else(|| server.trim_matches(['[', ']']).to_owned());
                let name = rustls::pki_types::ServerName::try_from(name.clone())
                    .map_err(|_| format!("`{name}` is not a valid TLS server name"))?;
                Some((connector(config.ca_file.as_deref())?, name))
            }
            _ => None,
        };
        Ok(Self {
            address: config.address.clone(),
            transport: config.transport,
            facility: config.facility.code(),
            app: config.app_name.clone(),
            host: host.to_owned(),
            timeout: Duration::from_secs_f64(config.timeout_seconds.max(0.1)),
            tls,
        })
    }

    /// Sends one batch: each record a message.
    pub async fn send(&self, batch: &[Value]) -> Result<(), SendError> {
        let pid = std::process::id();
        let messages: Vec<String> = batch
            .iter()
            .map(|r| format(r, self.facility, &self.host, &self.app, pid))
            .collect();
        let io = |what: &str, e: std::io::Error| SendError {
            message: format!("{what} {}: {e}", self.address),
            retry: true,
        };
        let within = |e: tokio::time::error::Elapsed| SendError {
            message: format!(
                "{} did not answer within {:?}: {e}",
                self.address, self.timeout
            ),
            retry: true,
        };
        match self.transport {
            SyslogTransport::Udp => {
                let target = tokio::net::lookup_host(&self.address)
                    .await
                    .map_err(|e| io("cannot resolve", e))?
                    .next()
                    .ok_or_else(|| io("cannot resolve", std::io::ErrorKind::NotFound.into()))?;
                let local = if target.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let socket = tokio::net::UdpSocket::bind(local)
                    .await
                    .map_err(|e| io("cannot open a socket for", e))?;
                for m in &messages {
                    socket
                        .send_to(m.as_bytes(), target)
                        .await
                        .map_err(|e| io("cannot send to", e))?;
                }
                Ok(())
            }
            SyslogTransport::Tcp | SyslogTransport::Tls => {
                let tcp = tokio::time::timeout(
                    self.timeout,
                    tokio::net::TcpStream::connect(&self.address),
                )
                .await
                .map_err(within)?
                .map_err(|e| io("cannot connect to", e))?;
                let frames: String = messages
                    .iter()
                    .map(|m| format!("{} {m}", m.len()))
                    .collect();
                let write = async {
                    match &self.tls {
                        None => {
                            let mut tcp = tcp;
                            tcp.write_all(frames.as_bytes()).await?;
                            tcp.shutdown().await
                        }
                        Some((connector, name)) => {
                            let mut tls = connector.connect(name.clone(), tcp).await?;
                            tls.write_all(frames.as_bytes()).await?;
                            tls.shutdown().await
                        }
                    }
                };
                tokio::time::timeout(self.timeout, write)
                    .await
                    .map_err(within)?
                    .map_err(|e| io("cannot write to", e))
            }
        }
    }
}

/// A TLS connector trusting the system's roots, plus `ca_file` when given.
fn connector(ca_file: Option<&std::path::Path>) -> Result<tokio_rustls::TlsConnector, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{} holds no PEM certificate", path.display()));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_become_rfc_5424_messages() {
        let record = serde_json::json!({
            "time": "2026-11-20T10:00:00.5Z", "plan": "ab12", "action": 3, "kind": "disable_user",
            "target": "user x@acme.example", "result": "done", "actor": "say \"hi\" ]"
        });
        let m = format(&record, 10, "ci runner 1", "okta365", 42);
        let (header, msg) = m.split_once('\u{feff}').unwrap();
        assert_eq!(
            header,
            "<85>1 2026-11-20T10:00:00.5Z cirunner1 okta365 42 disable_user [okta365@32473 plan=\"ab12\" action=\"3\" result=\"done\" target=\"user x@acme.example\" actor=\"say \\\"hi\\\" \\]\"] "
        );
        let back: Value = serde_json::from_str(msg).unwrap();
        assert_eq!(back, record);
        let failed = format(&serde_json::json!({"result": "failed"}), 16, "h", "a", 1);
        assert!(
            failed.starts_with("<131>1 - h a 1 - [okta365@32473 result=\"failed\"] "),
            "{failed}"
        );
    }
}
