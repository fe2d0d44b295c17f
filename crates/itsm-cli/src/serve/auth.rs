//! The shared bearer token: compared in constant time, never shown.

use std::fmt;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The configured token, kept only as its SHA-256 digest so that comparing a presented
/// token takes the same time whatever its length or content.
#[derive(Clone)]
pub(crate) struct TokenCheck {
    digest: Option<[u8; 32]>,
}

impl fmt::Debug for TokenCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCheck")
            .field("required", &self.digest.is_some())
            .finish()
    }
}

impl TokenCheck {
    /// Requires `token` when given; allows everything otherwise.
    pub(crate) fn new(token: Option<&SecretString>) -> TokenCheck {
        TokenCheck {
            digest: token.map(|t| digest(t.expose_secret().as_bytes())),
        }
    }

    /// Whether the request's `Authorization: Bearer` header carries the token.
    pub(crate) fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.digest else {
            return true;
        };
        let Some(presented) = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
        else {
            return false;
        };
        let presented = digest(presented.as_bytes());
        expected
            .iter()
            .zip(presented.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// The token of a `Bearer` authorization value (scheme case-insensitive).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn bearer_token_must_match() {
        let secret = SecretString::from("tok-123");
        let check = TokenCheck::new(Some(&secret));
        assert!(check.allows(&headers("Bearer tok-123")));
        assert!(check.allows(&headers("bearer  tok-123 ")));
        assert!(!check.allows(&headers("Bearer tok-124")));
        assert!(!check.allows(&headers("Bearer tok-1234")));
        assert!(!check.allows(&headers("Basic tok-123")));
        assert!(!check.allows(&HeaderMap::new()));
        assert!(!format!("{check:?}").contains("tok-123"));
        assert!(TokenCheck::new(None).allows(&HeaderMap::new()));
    }
}
