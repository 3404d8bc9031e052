//! DPoP proofs (RFC 9449) as Okta checks them: header `typ: dpop+jwt` with
//! the public `jwk`, claims `htm`, `htu` (no query string), `iat`, `jti`;
//! on resource calls also `ath`, the base64url SHA-256 of the access token,
//! and a key matching the one the token was bound to.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, Method};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::app::{App, lock};

/// How far `iat` may be from the emulator's clock.
const IAT_SKEW_SECONDS: i64 = 300;

/// A verified proof.
#[derive(Debug, Clone)]
pub struct Proof {
    /// RFC 7638 SHA-256 thumbprint of the proof's key.
    pub jkt: String,
    /// The proof's claims.
    pub claims: Value,
}

/// Verifies a proof's signature, `typ`, `htm`, `htu` and `iat` (not `jti` or `nonce`).
pub fn verify(proof: &str, method: &Method, htu: &str) -> Result<Proof, String> {
    let header = jsonwebtoken::decode_header(proof)
        .map_err(|e| format!("The DPoP proof JWT is malformed: {e}"))?;
    if header.typ.as_deref() != Some("dpop+jwt") {
        return Err("The DPoP proof JWT header 'typ' must be 'dpop+jwt'.".into());
    }
    let asymmetric = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
    ];
    if !asymmetric.contains(&header.alg) {
        return Err(format!(
            "The DPoP proof JWT 'alg' {:?} is not an asymmetric algorithm.",
            header.alg
        ));
    }
    let jwk = header
        .jwk
        .ok_or("The DPoP proof JWT header must contain a 'jwk'.")?;
    let key = DecodingKey::from_jwk(&jwk)
        .map_err(|e| format!("The DPoP proof 'jwk' is not a usable public key: {e}"))?;
    let mut validation = Validation::new(header.alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(proof, &key, &validation)
        .map_err(|e| format!("The DPoP proof JWT signature is invalid: {e}"))?;
    let claims = data.claims;
    if claims["htm"].as_str() != Some(method.as_str()) {
        return Err("'htm' claim in the DPoP proof JWT is invalid.".into());
    }
    let claimed = claims["htu"].as_str().unwrap_or_default();
    // Okta compares the whole claim: one with a query string (copied from a
    // `next` link) fails like any other mismatch.
    if claimed != htu {
        return Err("'htu' claim in the DPoP proof JWT is invalid.".into());
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    match claims["iat"].as_i64() {
        Some(iat) if (iat - now).abs() <= IAT_SKEW_SECONDS => {}
        Some(_) => {
            return Err("The DPoP proof 'iat' claim is too far from the current time.".into());
        }
        None => return Err("The DPoP proof must contain an 'iat' claim.".into()),
    }
    if claims["jti"].as_str().is_none_or(str::is_empty) {
        return Err("The DPoP proof must contain a 'jti' claim.".into());
    }
    let jkt = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| format!("The DPoP proof 'jwk' has no thumbprint: {e}"))?;
    Ok(Proof { jkt, claims })
}

/// base64url(SHA-256(token)), the `ath` claim.
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Checks the `DPoP` header of a resource request made with a DPoP-bound token.
pub fn check_resource_proof(
    app: &App,
    headers: &HeaderMap,
    method: &Method,
    htu: &str,
    token: &str,
    bound_jkt: &str,
) -> Result<(), String> {
    let proof = headers
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .ok_or("The DPoP proof JWT header is missing.")?;
    let proof = verify(proof, method, htu)?;
    if proof.jkt != bound_jkt {
        return Err(
            "The DPoP proof key does not match the key the access token is bound to.".into(),
        );
    }
    if proof.claims["ath"].as_str() != Some(token_hash(token).as_str()) {
        return Err("'ath' claim in the DPoP proof JWT is invalid.".into());
    }
    let jti = proof.claims["jti"].as_str().unwrap_or_default().to_owned();
    if !lock(&app.tokens).seen_proofs.insert(jti) {
        return Err("The DPoP proof 'jti' has already been used.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::okta::testing::{CLIENT_RSA, DPOP_EC, KeyPair};
    use jsonwebtoken::Header;
    use serde_json::json;

    const HTU: &str = "http://127.0.0.1:1/api/v1/users";

    fn now() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn proof(key: &KeyPair, typ: Option<&str>, with_jwk: bool, claims: Value) -> String {
        let mut header = Header::new(key.algorithm);
        header.typ = typ.map(str::to_owned);
        if with_jwk {
            header.jwk = Some(key.public_jwk());
        }
        jsonwebtoken::encode(&header, &claims, &key.encoding_key()).unwrap()
    }

    fn claims() -> Value {
        json!({"htm": "GET", "htu": HTU, "iat": now(), "jti": "j1"})
    }

    fn refusal(text: &str) -> String {
        verify(text, &Method::GET, HTU).unwrap_err()
    }

    #[test]
    fn a_good_proof_yields_the_key_thumbprint() {
        let ok = verify(
            &proof(&DPOP_EC, Some("dpop+jwt"), true, claims()),
            &Method::GET,
            HTU,
        )
        .unwrap();
        let expected = DPOP_EC
            .public_jwk()
            .thumbprint(ThumbprintHash::SHA256)
            .unwrap();
        assert_eq!(ok.jkt, expected);
        let rsa = verify(
            &proof(&CLIENT_RSA, Some("dpop+jwt"), true, claims()),
            &Method::GET,
            HTU,
        );
        assert!(rsa.is_ok());
    }

    #[test]
    fn each_broken_part_is_refused() {
        assert!(refusal(&proof(&DPOP_EC, Some("JWT"), true, claims())).contains("typ"));
        assert!(refusal(&proof(&DPOP_EC, Some("dpop+jwt"), false, claims())).contains("jwk"));
        let mut wrong_method = claims();
        wrong_method["htm"] = json!("POST");
        assert!(refusal(&proof(&DPOP_EC, Some("dpop+jwt"), true, wrong_method)).contains("'htm'"));
        let mut with_query = claims();
        with_query["htu"] = json!(format!("{HTU}?limit=200"));
        assert!(refusal(&proof(&DPOP_EC, Some("dpop+jwt"), true, with_query)).contains("'htu'"));
        let mut stale = claims();
        stale["iat"] = json!(now() - 3600);
        assert!(refusal(&proof(&DPOP_EC, Some("dpop+jwt"), true, stale)).contains("'iat'"));
        let mut no_jti = claims();
        no_jti.as_object_mut().unwrap().remove("jti");
        assert!(refusal(&proof(&DPOP_EC, Some("dpop+jwt"), true, no_jti)).contains("'jti'"));
        let hmac = jsonwebtoken::encode(
            &Header {
                typ: Some("dpop+jwt".into()),
                ..Header::new(Algorithm::HS256)
            },
            &claims(),
            &jsonwebtoken::EncodingKey::from_secret(b"shared"),
        )
        .unwrap();
        assert!(refusal(&hmac).contains("asymmetric"));
    }

    #[test]
    fn a_proof_signed_by_another_key_than_its_jwk_is_refused() {
        let mut header = Header::new(DPOP_EC.algorithm);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(crate::okta::testing::OTHER_EC.public_jwk());
        let forged = jsonwebtoken::encode(&header, &claims(), &DPOP_EC.encoding_key()).unwrap();
        assert!(refusal(&forged).contains("signature"));
    }

    #[test]
    fn ath_is_the_base64url_sha256_of_the_token() {
        // SHA-256("abc") = ba7816bf…, base64url without padding.
        assert_eq!(
            token_hash("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }
}
