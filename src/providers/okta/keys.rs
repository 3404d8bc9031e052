//! Private keys: the service app's client-assertion key (RS256 or ES256, from
//! a PEM or JWK file) and the per-run DPoP key (ES256, generated in memory).
//! Key material is never formatted: these types have no `Debug` that shows it,
//! and errors name the file, never its content.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::pkcs1::EncodeRsaPrivateKey;
use serde::Deserialize;

use super::error::OktaError;
use crate::secret::Secret;

/// A private key ready to sign JWTs.
#[derive(Clone)]
pub struct SigningKey {
    /// RS256 or ES256.
    pub algorithm: Algorithm,
    /// The key, as jsonwebtoken wants it.
    pub key: EncodingKey,
    /// The `kid` found in a JWK file, if any.
    pub kid: Option<String>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({:?}, [redacted])", self.algorithm)
    }
}

impl SigningKey {
    /// Loads a PEM (PKCS#1, SEC1 or PKCS#8) or JWK file.
    pub fn load(path: &Path) -> Result<Self, OktaError> {
        let shown = path.display();
        let text = Secret::from_file(path).map_err(|e| OktaError::fatal(e.to_string()))?;
        let parsed = if text.expose().trim_start().starts_with('{') {
            Self::from_jwk(text.expose())
        } else {
            Self::from_pem(text.expose())
        };
        parsed.map_err(|why| {
            OktaError::fatal(format!(
                "cannot use the private key in `{shown}`: {why}\n  hint: give an RSA (RS256) or P-256 (ES256) private key as PEM or as a JWK with its private part (`d`)"
            ))
        })
    }

    /// Parses a PEM private key.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        if pem.contains("BEGIN ENCRYPTED PRIVATE KEY") {
            return Err("the key is encrypted; decrypt it first".into());
        }
        if let Ok(key) = EncodingKey::from_rsa_pem(pem.as_bytes()) {
            return Ok(Self::rsa(key, None));
        }
        let ec = p256::SecretKey::from_pkcs8_pem(pem)
            .or_else(|_| p256::SecretKey::from_sec1_pem(pem))
            .map_err(|_| "not an RSA or P-256 private key in PEM form".to_owned())?;
        Self::p256(&ec, None)
    }

    /// Parses a private JWK (`kty` `RSA` with `n e d p q`, or `EC` `P-256` with `d`).
    pub fn from_jwk(json: &str) -> Result<Self, String> {
        let jwk: PrivateJwk = serde_json::from_str(json).map_err(|e| format!("not a JWK: {e}"))?;
        let field = |name: &str, v: &Option<String>| -> Result<Vec<u8>, String> {
            let v = v
                .as_deref()
                .ok_or_else(|| format!("the JWK has no `{name}` (a public key cannot sign)"))?;
            URL_SAFE_NO_PAD
                .decode(v.trim_end_matches('='))
                .map_err(|_| format!("`{name}` is not base64url"))
        };
        match jwk.kty.as_str() {
            "RSA" => {
                let big = |name, v| field(name, v).map(|b| rsa::BigUint::from_bytes_be(&b));
                let mut primes = Vec::new();
                if jwk.p.is_some() && jwk.q.is_some() {
                    primes = vec![big("p", &jwk.p)?, big("q", &jwk.q)?];
                }
                let key = rsa::RsaPrivateKey::from_components(
                    big("n", &jwk.n)?,
                    big("e", &jwk.e)?,
                    big("d", &jwk.d)?,
                    primes,
                )
                .map_err(|e| format!("invalid RSA key: {e}"))?;
                let der = key
                    .to_pkcs1_der()
                    .map_err(|e| format!("invalid RSA key: {e}"))?;
                Ok(Self::rsa(
                    EncodingKey::from_rsa_der(der.as_bytes()),
                    jwk.kid,
                ))
            }
            "EC" if jwk.crv.as_deref() == Some("P-256") => {
                let d = field("d", &jwk.d)?;
                let ec = p256::SecretKey::from_slice(&d).map_err(|_| "invalid P-256 key")?;
                Self::p256(&ec, jwk.kid)
            }
            "EC" => Err(format!(
                "curve `{}` is not supported; use P-256 (ES256)",
                jwk.crv.unwrap_or_default()
            )),
            other => Err(format!(
                "key type `{other}` is not supported; use RSA or EC"
            )),
        }
    }

    fn rsa(key: EncodingKey, kid: Option<String>) -> Self {
        Self {
            algorithm: Algorithm::RS256,
            key,
            kid,
        }
    }

    fn p256(key: &p256::SecretKey, kid: Option<String>) -> Result<Self, String> {
        let der = key
            .to_pkcs8_der()
            .map_err(|e| format!("cannot encode the P-256 key: {e}"))?;
        Ok(Self {
            algorithm: Algorithm::ES256,
            key: EncodingKey::from_ec_der(der.as_bytes()),
            kid,
        })
    }

    /// A fresh P-256 key (for DPoP), from the operating system's random source.
    pub fn generate_p256() -> Result<Self, OktaError> {
        for _ in 0..8 {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|e| OktaError::fatal(format!("no random source for a DPoP key: {e}")))?;
            if let Ok(key) = p256::SecretKey::from_slice(&bytes) {
                return Self::p256(&key, None).map_err(OktaError::fatal);
            }
        }
        Err(OktaError::fatal("cannot generate a DPoP key"))
    }

    /// The public half as a JWK (for the DPoP header).
    pub fn public_jwk(&self) -> Result<Jwk, OktaError> {
        Jwk::from_encoding_key(&self.key, self.algorithm)
            .map_err(|e| OktaError::fatal(format!("cannot derive the public key: {e}")))
    }
}

/// The fields of a private JWK okta365 reads.
#[derive(Deserialize)]
struct PrivateJwk {
    kty: String,
    kid: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    d: Option<String>,
    p: Option<String>,
    q: Option<String>,
}

/// Random bytes as lowercase hex (JWT ids).
pub fn random_hex(len: usize) -> Result<String, OktaError> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|e| OktaError::fatal(format!("no random source: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::LineEnding;

    #[test]
    fn p256_keys_load_from_pem_and_jwk_alike() {
        let key = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let from_pem = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(from_pem.algorithm, Algorithm::ES256);
        let jwk = format!(
            r#"{{"kty":"EC","crv":"P-256","kid":"k1","d":"{}"}}"#,
            URL_SAFE_NO_PAD.encode([7u8; 32])
        );
        let from_jwk = SigningKey::from_jwk(&jwk).unwrap();
        assert_eq!(from_jwk.kid.as_deref(), Some("k1"));
        assert_eq!(
            from_pem.public_jwk().unwrap().algorithm,
            from_jwk.public_jwk().unwrap().algorithm
        );
        let sec1 = key.to_sec1_pem(LineEnding::LF).unwrap();
        assert!(SigningKey::from_pem(&sec1).is_ok());
    }

    #[test]
    fn public_jwks_and_garbage_are_refused_without_echoing_them() {
        let err = SigningKey::from_jwk(r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#)
            .err()
            .unwrap();
        assert!(err.contains("no `d`"), "{err}");
        let err = SigningKey::from_pem(
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0Cg==\n-----END PRIVATE KEY-----\n",
        )
        .err()
        .unwrap();
        assert!(!err.contains("c2VjcmV0"), "{err}");
    }

    #[test]
    fn an_rsa_jwk_signs_like_its_pem() {
        use rsa::pkcs8::DecodePrivateKey as _;
        use rsa::traits::{PrivateKeyParts, PublicKeyParts};
        let pair = okta365_emulators::okta::testing::CLIENT_RSA;
        let rsa = rsa::RsaPrivateKey::from_pkcs8_pem(pair.private_pem).unwrap();
        let b64 = |n: &rsa::BigUint| URL_SAFE_NO_PAD.encode(n.to_bytes_be());
        let jwk = serde_json::json!({
            "kty": "RSA", "kid": "rsa-1",
            "n": b64(rsa.n()), "e": b64(rsa.e()), "d": b64(rsa.d()),
            "p": b64(&rsa.primes()[0]), "q": b64(&rsa.primes()[1]),
        });
        let from_jwk = SigningKey::from_jwk(&jwk.to_string()).unwrap();
        let from_pem = SigningKey::from_pem(pair.private_pem).unwrap();
        assert_eq!(
            (from_jwk.algorithm, from_pem.algorithm),
            (Algorithm::RS256, Algorithm::RS256)
        );
        let header = jsonwebtoken::Header::new(Algorithm::RS256);
        let claims = serde_json::json!({"sub": "x"});
        let signed = jsonwebtoken::encode(&header, &claims, &from_jwk.key).unwrap();
        let public = jsonwebtoken::DecodingKey::from_rsa_pem(pair.public_pem.as_bytes()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        assert!(jsonwebtoken::decode::<serde_json::Value>(&signed, &public, &validation).is_ok());
    }

    #[test]
    fn generated_dpop_keys_differ() {
        let a = SigningKey::generate_p256().unwrap().public_jwk().unwrap();
        let b = SigningKey::generate_p256().unwrap().public_jwk().unwrap();
        assert_ne!(a, b);
        assert_eq!(random_hex(16).unwrap().len(), 32);
    }
}
