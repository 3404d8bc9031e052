//! JWTs okta365 signs: the `private_key_jwt` client assertion and DPoP proofs
//! (RFC 9449). Signing is jsonwebtoken's; this module only chooses claims.
//!
//! A DPoP proof's `htu` is the URL without query or fragment (Okta's own SDKs
//! broke paging by copying `?after=…` into it), and resource proofs carry
//! `ath`, the base64url SHA-256 of the access token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Header, encode};
use reqwest::Url;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::OktaError;
use super::keys::SigningKey;

/// Claims of a DPoP proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProofClaims {
    /// HTTP method.
    pub htm: String,
    /// Target URL without query or fragment.
    pub htu: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// A unique id for this proof.
    pub jti: String,
    /// Hash of the access token (resource requests only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ath: Option<String>,
    /// The server's latest nonce, when it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

impl ProofClaims {
    /// Claims for `method url`, bound to `access_token` when given.
    pub fn new(
        method: &str,
        url: &Url,
        access_token: Option<&str>,
        nonce: Option<&str>,
        iat: i64,
        jti: String,
    ) -> Self {
        Self {
            htm: method.to_owned(),
            htu: htu(url),
            iat,
            jti,
            ath: access_token.map(token_hash),
            nonce: nonce.map(str::to_owned),
        }
    }
}

/// `scheme://host[:port]/path`: the URL without query and fragment.
pub fn htu(url: &Url) -> String {
    let mut bare = url.clone();
    bare.set_query(None);
    bare.set_fragment(None);
    bare.to_string()
}

/// base64url(SHA-256(token)), the `ath` claim.
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Signs a DPoP proof with the DPoP key; its public JWK goes in the header.
pub fn sign_proof(key: &SigningKey, jwk: &Jwk, claims: &ProofClaims) -> Result<String, OktaError> {
    let mut header = Header::new(key.algorithm);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(jwk.clone());
    encode(&header, claims, &key.key)
        .map_err(|e| OktaError::fatal(format!("cannot sign a DPoP proof: {e}")))
}

/// Claims of the `private_key_jwt` client assertion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssertionClaims {
    /// The client id.
    pub iss: String,
    /// The client id.
    pub sub: String,
    /// The token endpoint.
    pub aud: String,
    /// Issued at.
    pub iat: i64,
    /// Expiry: five minutes after `iat` (Okta allows at most an hour).
    pub exp: i64,
    /// A unique id (replay protection).
    pub jti: String,
}

impl AssertionClaims {
    /// Claims for `client_id` at `token_url`.
    pub fn new(client_id: &str, token_url: &Url, iat: i64, jti: String) -> Self {
        Self {
            iss: client_id.to_owned(),
            sub: client_id.to_owned(),
            aud: token_url.to_string(),
            iat,
            exp: iat + 300,
            jti,
        }
    }
}

/// Signs the client assertion with the app's key, naming `kid` when known.
pub fn sign_assertion(
    key: &SigningKey,
    kid: Option<&str>,
    claims: &AssertionClaims,
) -> Result<String, OktaError> {
    let mut header = Header::new(key.algorithm);
    header.kid = kid.map(str::to_owned).or_else(|| key.kid.clone());
    encode(&header, claims, &key.key)
        .map_err(|e| OktaError::fatal(format!("cannot sign the client assertion: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};

    #[test]
    fn htu_drops_query_and_fragment() {
        let url = Url::parse("https://acme.okta.com/api/v1/users?after=00u1&limit=200#x").unwrap();
        assert_eq!(htu(&url), "https://acme.okta.com/api/v1/users");
        let local = Url::parse("http://127.0.0.1:8080/oauth2/v1/token").unwrap();
        assert_eq!(htu(&local), "http://127.0.0.1:8080/oauth2/v1/token");
    }

    #[test]
    fn ath_is_the_base64url_sha256_of_the_token() {
        // RFC 9449 §7.1 example: token "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU".
        assert_eq!(
            token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn proofs_carry_the_claims_and_verify_with_the_header_jwk() {
        let key = SigningKey::generate_p256().unwrap();
        let url = Url::parse("https://acme.okta.com/api/v1/groups/00g1/users?after=x").unwrap();
        let claims = ProofClaims::new(
            "GET",
            &url,
            Some("tok"),
            Some("n1"),
            1_700_000_000,
            "j1".into(),
        );
        let proof = sign_proof(&key, &key.public_jwk().unwrap(), &claims).unwrap();
        let header = decode_header(&proof).unwrap();
        assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
        let jwk = header.jwk.unwrap();
        let mut validation = Validation::new(key.algorithm);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let decoded =
            decode::<serde_json::Value>(&proof, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
                .unwrap()
                .claims;
        assert_eq!(decoded["htm"], "GET");
        assert_eq!(
            decoded["htu"],
            "https://acme.okta.com/api/v1/groups/00g1/users"
        );
        assert_eq!(decoded["ath"], token_hash("tok"));
        assert_eq!(decoded["nonce"], "n1");
        assert_eq!(decoded["iat"], 1_700_000_000);
        assert_eq!(decoded["jti"], "j1");
    }

    #[test]
    fn token_request_proofs_have_no_ath() {
        let url = Url::parse("https://acme.okta.com/oauth2/v1/token").unwrap();
        let claims = ProofClaims::new("POST", &url, None, None, 1, "j".into());
        let json = serde_json::to_value(&claims).unwrap();
        assert!(json.get("ath").is_none() && json.get("nonce").is_none());
        let a = AssertionClaims::new("0oa1", &url, 100, "j".into());
        assert_eq!((a.iss.as_str(), a.sub.as_str()), ("0oa1", "0oa1"));
        assert_eq!(a.aud, "https://acme.okta.com/oauth2/v1/token");
        assert_eq!(a.exp - a.iat, 300);
    }
}
