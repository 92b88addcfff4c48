//! The three kinds of bearer secrets:
//! - access tokens: HS256 JWTs naming the user and session, valid for minutes;
//! - refresh tokens (`crt_…`): 256 random bits, used once, stored as a SHA-256 hash;
//! - API tokens (`cat_…`): 256 random bits for integrations, stored as a SHA-256 hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const REFRESH_PREFIX: &str = "crt_";
pub const API_TOKEN_PREFIX: &str = "cat_";
const ISSUER: &str = "cartouche";
const AUDIENCE: &str = "cartouche-api";

/// A new random secret with its prefix, and the hash to store.
pub fn new_secret(prefix: &str) -> (SecretString, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_secret(&secret);
    (SecretString::from(secret), hash)
}

/// SHA-256 of a presented secret, to look up its row.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user.
    pub sub: Uuid,
    /// The session the token belongs to; revoked sessions void their tokens at once.
    pub sid: Uuid,
    /// The user's tenant.
    pub tid: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: chrono::Duration,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl AccessTokens {
    pub fn new(secret: &SecretString, ttl: std::time::Duration) -> AccessTokens {
        let key = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is exact: a token is refused the second it expires.
        validation.leeway = 0;
        AccessTokens {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            ttl: chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(15)),
        }
    }

    /// Issues a token for the user's session; returns it with its expiry.
    pub fn issue(
        &self,
        user: Uuid,
        session: Uuid,
        tenant: Uuid,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(String, DateTime<Utc>)> {
        let expires = now + self.ttl;
        let claims = AccessClaims {
            sub: user,
            sid: session,
            tid: tenant,
            iat: now.timestamp(),
            exp: expires.timestamp(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, expires))
    }

    /// Checks signature, issuer, audience and expiry.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation).map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(secret: &str) -> AccessTokens {
        AccessTokens::new(&SecretString::from(secret.to_owned()), std::time::Duration::from_secs(60))
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let t = tokens("k".repeat(32).as_str());
        let (user, session, tenant) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let (jwt, _) = t.issue(user, session, tenant, Utc::now()).unwrap();
        let claims = t.verify(&jwt).unwrap();
        assert_eq!((claims.sub, claims.sid, claims.tid), (user, session, tenant));
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused() {
        let t = tokens("k".repeat(32).as_str());
        let (old, _) =
            t.issue(Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Utc::now() - chrono::Duration::minutes(5)).unwrap();
        assert!(t.verify(&old).is_err(), "expired");
        let (jwt, _) = t.issue(Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Utc::now()).unwrap();
        let mut tampered = jwt.clone().into_bytes();
        let mid = tampered.len() / 2;
        tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
        assert!(t.verify(&String::from_utf8(tampered).unwrap()).is_err(), "tampered");
        assert!(tokens("o".repeat(32).as_str()).verify(&jwt).is_err(), "other key");
    }

    #[test]
    fn secrets_carry_their_prefix_and_hash_stably() {
        let (secret, hash) = new_secret(API_TOKEN_PREFIX);
        assert!(secret.expose_secret().starts_with("cat_"));
        assert_eq!(secret.expose_secret().len(), 4 + 43);
        assert_eq!(hash, hash_secret(secret.expose_secret()));
        assert_ne!(new_secret(API_TOKEN_PREFIX).1, hash);
    }
}
