//! Secrets at rest (SNMP communities, SNMPv3 passwords): sealed with XChaCha20-Poly1305 under
//! the server key of `CARTOUCHE_SECRET_KEY`, with a random 24-byte nonce per seal, and bound
//! to the row they belong to (its tenant and id are the associated data, so a sealed value
//! copied to another row or tenant does not open). Each sealed value names the key that
//! sealed it: keys listed in `CARTOUCHE_SECRET_KEY_PREVIOUS` still open old values after a
//! rotation.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 24;

#[derive(Clone)]
struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The server's sealing keys: the current one and older ones that may still be in use.
#[derive(Clone)]
pub struct SecretKeys {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let previous: Vec<&str> = self.previous.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("SecretKeys").field("current", &self.current.id).field("previous", &previous).finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("{variable}: expected 32 bytes in base64 (generate with: head -c 32 /dev/urandom | base64)")]
    BadKey { variable: &'static str },
    #[error(
        "sealed with key {0}, which is not configured (add it to CARTOUCHE_SECRET_KEY_PREVIOUS, or enter the secret again)"
    )]
    UnknownKey(String),
    #[error("the sealed value does not open with key {0}: it was altered or belongs to another row")]
    Corrupt(String),
}

fn key(encoded: &str, variable: &'static str) -> Result<Key, SecretError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| SecretError::BadKey { variable })?;
    if bytes.len() != 32 {
        return Err(SecretError::BadKey { variable });
    }
    let digest = Sha256::digest(&bytes);
    let id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| SecretError::BadKey { variable })?;
    Ok(Key { id, cipher })
}

impl SecretKeys {
    /// `current` is `CARTOUCHE_SECRET_KEY`; `previous` the comma-separated keys of
    /// `CARTOUCHE_SECRET_KEY_PREVIOUS`.
    pub fn parse(current: &str, previous: Option<&str>) -> Result<SecretKeys, SecretError> {
        let current = key(current, "CARTOUCHE_SECRET_KEY")?;
        let previous = previous
            .unwrap_or("")
            .split(',')
            .filter(|k| !k.trim().is_empty())
            .map(|k| key(k, "CARTOUCHE_SECRET_KEY_PREVIOUS"))
            .collect::<Result<_, _>>()?;
        Ok(SecretKeys { current, previous })
    }

    /// The id of the key new values are sealed with.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// Seals `plaintext` for the row described by `bound_to`; returns the sealed bytes and the
    /// key id to store beside them.
    pub fn seal(&self, bound_to: &[u8], plaintext: &[u8]) -> (Vec<u8>, String) {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .current
            .cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: bound_to })
            .expect("invariant: XChaCha20-Poly1305 encrypts any message of a credential's size");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        (out, self.current.id.clone())
    }

    /// Opens a value sealed by `seal` with the key `key_id`.
    pub fn open(&self, key_id: &str, bound_to: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SecretError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
            .ok_or_else(|| SecretError::UnknownKey(key_id.to_owned()))?;
        if sealed.len() < NONCE_LEN {
            return Err(SecretError::Corrupt(key_id.to_owned()));
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SecretError::Corrupt(key_id.to_owned()))?;
        key.cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: body, aad: bound_to })
            .map_err(|_| SecretError::Corrupt(key_id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const B: &str = "HxwdHhobGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";

    #[test]
    fn a_sealed_value_opens_only_for_its_row_and_hides_the_plaintext() {
        let keys = SecretKeys::parse(A, None).unwrap();
        let (sealed, id) = keys.seal(b"tenant/row-1", b"s3cret-community");
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(keys.open(&id, b"tenant/row-1", &sealed).unwrap(), b"s3cret-community");
        assert_eq!(keys.open(&id, b"tenant/row-2", &sealed), Err(SecretError::Corrupt(id.clone())));
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(keys.open(&id, b"tenant/row-1", &altered).is_err());
        // Two seals of one value differ (random nonces).
        assert_ne!(keys.seal(b"tenant/row-1", b"s3cret-community").0, sealed);
    }

    #[test]
    fn after_a_rotation_old_values_open_with_the_previous_key() {
        let old = SecretKeys::parse(A, None).unwrap();
        let (sealed, id) = old.seal(b"r", b"x");
        let rotated = SecretKeys::parse(B, Some(A)).unwrap();
        assert_ne!(rotated.current_id(), id);
        assert_eq!(rotated.open(&id, b"r", &sealed).unwrap(), b"x");
        let forgotten = SecretKeys::parse(B, None).unwrap();
        assert_eq!(forgotten.open(&id, b"r", &sealed), Err(SecretError::UnknownKey(id)));
    }

    #[test]
    fn bad_keys_name_their_variable() {
        let err = SecretKeys::parse("c2hvcnQ=", None).unwrap_err().to_string();
        assert!(err.contains("CARTOUCHE_SECRET_KEY:"), "{err}");
        let err = SecretKeys::parse(A, Some("not base64!")).unwrap_err().to_string();
        assert!(err.contains("CARTOUCHE_SECRET_KEY_PREVIOUS"), "{err}");
    }
}
