//! HTTPS for the hook endpoint: a rustls server configuration from PEM
//! files (a certificate chain and its private key).

use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::events::TlsFiles;

/// The server configuration for `files`, or what is wrong with them.
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, String> {
    let cert_path = files.certificate_file.display();
    let key_path = files.private_key_file.display();
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(&files.certificate_file)
            .and_then(|iter| iter.collect::<Result<_, _>>())
            .map_err(|e| format!("cannot read the certificate file {cert_path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "the certificate file {cert_path} holds no PEM certificate"
        ));
    }
    // The key's text is never put into an error message.
    let key = PrivateKeyDer::from_pem_file(&files.private_key_file).map_err(|_| {
        format!("cannot read a PEM private key (PKCS#8, PKCS#1 or SEC1) from {key_path}")
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate in {cert_path} and the key in {key_path} do not make a TLS identity: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
