//! Test-only keys and token builders, for tests of Okta clients against the
//! emulator. The keys (in `tests/keys/`) protect nothing and must never be
//! registered with a real org.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use super::options::PublicKey;

/// A test key pair.
#[derive(Debug, Clone, Copy)]
pub struct KeyPair {
    /// PKCS#8 PEM private key.
    pub private_pem: &'static str,
    /// SPKI PEM public key.
    pub public_pem: &'static str,
    /// The algorithm it signs with.
    pub algorithm: Algorithm,
}

/// RSA 2048 client-assertion key (RS256).
pub const CLIENT_RSA: KeyPair = KeyPair {
    private_pem: include_str!("../../tests/keys/client-rsa.pem"),
    public_pem: include_str!("../../tests/keys/client-rsa.pub.pem"),
    algorithm: Algorithm::RS256,
};

/// P-256 client-assertion key (ES256).
pub const CLIENT_EC: KeyPair = KeyPair {
    private_pem: include_str!("../../tests/keys/client-ec.pem"),
    public_pem: include_str!("../../tests/keys/client-ec.pub.pem"),
    algorithm: Algorithm::ES256,
};

/// P-256 DPoP proof key, separate from the client keys.
pub const DPOP_EC: KeyPair = KeyPair {
    private_pem: include_str!("../../tests/keys/dpop-ec.pem"),
    public_pem: include_str!("../../tests/keys/dpop-ec.pub.pem"),
    algorithm: Algorithm::ES256,
};

/// A P-256 key no app registers, for "wrong key" tests.
pub const OTHER_EC: KeyPair = KeyPair {
    private_pem: include_str!("../../tests/keys/other-ec.pem"),
    public_pem: include_str!("../../tests/keys/other-ec.pub.pem"),
    algorithm: Algorithm::ES256,
};

impl KeyPair {
    /// The signing key.
    pub fn encoding_key(&self) -> EncodingKey {
        let pem = self.private_pem.as_bytes();
        match self.algorithm {
            Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem),
            _ => EncodingKey::from_rsa_pem(pem),
        }
        .expect("the bundled test keys parse")
    }

    /// The public half as a JWK.
    pub fn public_jwk(&self) -> Jwk {
        Jwk::from_encoding_key(&self.encoding_key(), self.algorithm)
            .expect("the bundled test keys convert to JWKs")
    }

    /// The public key as a service app registers it.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::Pem(self.public_pem.to_owned())
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// A `private_key_jwt` client assertion for `client_id` at `token_url`.
pub fn client_assertion(key: &KeyPair, client_id: &str, token_url: &str, jti: &str) -> String {
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": now(),
        "exp": now() + 300,
        "jti": jti,
    });
    jsonwebtoken::encode(&Header::new(key.algorithm), &claims, &key.encoding_key())
        .expect("signing with a test key")
}

/// A DPoP proof for `method htu`, with `nonce` and (for resource calls) `ath` of `access_token`.
pub fn dpop_proof(
    key: &KeyPair,
    method: &str,
    htu: &str,
    nonce: Option<&str>,
    access_token: Option<&str>,
    jti: &str,
) -> String {
    let mut header = Header::new(key.algorithm);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(key.public_jwk());
    let mut claims = json!({ "htm": method, "htu": htu, "iat": now(), "jti": jti });
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    if let Some(token) = access_token {
        claims["ath"] = json!(super::dpop::token_hash(token));
    }
    jsonwebtoken::encode(&header, &claims, &key.encoding_key()).expect("signing with a test key")
}
