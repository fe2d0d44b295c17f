//! How a client proves who it is: none, HTTP Basic, a bearer token or a custom header.

use std::fmt;

use itsm_core::{Error, ErrorKind, Result};
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::redact::REDACTED;

/// Credentials sent with every request of a client.
///
/// Secrets are [`SecretString`]s: `Debug` prints `[REDACTED]` in their place, and the header
/// built from them is marked sensitive so that the HTTP stack never logs it.
///
/// ```
/// use itsm_http::Auth;
/// use secrecy::SecretString;
///
/// // PagerDuty REST API: `Authorization: Token token=...`
/// let auth = Auth::Header {
///     name: "Authorization".into(),
///     value: SecretString::from("Token token=y_NbAkKc66ryYTWUXYEu"),
/// };
/// assert!(!format!("{auth:?}").contains("y_NbAkKc66ryYTWUXYEu"));
/// ```
#[derive(Clone, Default)]
pub enum Auth {
    /// No credentials (public endpoints, or a proxy that adds them).
    #[default]
    None,
    /// HTTP Basic: `Authorization: Basic base64(username:password)` (ServiceNow, Jira Server,
    /// Jira Cloud with an API token as the password).
    Basic {
        /// The user name (not secret).
        username: String,
        /// The password or API token.
        password: SecretString,
    },
    /// `Authorization: Bearer <token>` (OAuth access tokens, Jira personal access tokens).
    Bearer(SecretString),
    /// Any other header carrying the whole secret value, such as PagerDuty's
    /// `Authorization: Token token=...` or an `X-Api-Key`.
    Header {
        /// The header name.
        name: String,
        /// The whole header value.
        value: SecretString,
    },
}

impl Auth {
    /// HTTP Basic credentials.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Auth::Basic {
            username: username.into(),
            password: SecretString::from(password.into()),
        }
    }

    /// A bearer token.
    pub fn bearer(token: impl Into<String>) -> Self {
        Auth::Bearer(SecretString::from(token.into()))
    }

    /// A custom header whose whole value is secret.
    pub fn header(name: impl Into<String>, value: impl Into<String>) -> Self {
        Auth::Header {
            name: name.into(),
            value: SecretString::from(value.into()),
        }
    }

    /// The header to add to every request, built once per client and marked sensitive.
    pub(crate) fn to_header(&self) -> Result<Option<(HeaderName, HeaderValue)>> {
        let (name, value) = match self {
            Auth::None => return Ok(None),
            Auth::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose_secret());
                (AUTHORIZATION, format!("Basic {}", base64(raw.as_bytes())))
            }
            Auth::Bearer(token) => (
                AUTHORIZATION,
                format!("Bearer {}", token.expose_secret().trim()),
            ),
            Auth::Header { name, value } => {
                let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                    Error::new(
                        ErrorKind::Config,
                        "the auth header name is not a valid header name",
                    )
                    .with_context("header", name)
                })?;
                (name, value.expose_secret().trim().to_owned())
            }
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            // Never echo the value: it is the secret.
            Error::new(
                ErrorKind::Config,
                "the credentials contain characters that cannot be sent in an HTTP header",
            )
            .with_context("header", &name)
        })?;
        value.set_sensitive(true);
        Ok(Some((name, value)))
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &format_args!("{REDACTED}"))
                .finish(),
            Auth::Bearer(_) => f
                .debug_tuple("Bearer")
                .field(&format_args!("{REDACTED}"))
                .finish(),
            Auth::Header { name, .. } => f
                .debug_struct("Header")
                .field("name", name)
                .field("value", &format_args!("{REDACTED}"))
                .finish(),
        }
    }
}

/// Standard base64 with padding (RFC 4648), enough for Basic auth without another dependency.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected, "{input:?}");
        }
    }

    #[test]
    fn headers_are_built_and_sensitive() {
        let (name, value) = Auth::basic("Aladdin", "open sesame")
            .to_header()
            .unwrap()
            .unwrap();
        assert_eq!(name, AUTHORIZATION);
        assert_eq!(value, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(value.is_sensitive());

        let (_, value) = Auth::bearer("abc").to_header().unwrap().unwrap();
        assert_eq!(value, "Bearer abc");
        assert!(value.is_sensitive());

        let (name, value) = Auth::header("X-Api-Key", "k1")
            .to_header()
            .unwrap()
            .unwrap();
        assert_eq!(name.as_str(), "x-api-key");
        assert_eq!(value, "k1");
        assert!(value.is_sensitive());

        assert!(Auth::None.to_header().unwrap().is_none());
    }

    #[test]
    fn bad_credentials_are_config_errors_without_the_secret() {
        let err = Auth::bearer("s3cr3t\nline").to_header().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!format!("{err} {err:?}").contains("s3cr3t"));
        let err = Auth::header("bad header", "v").to_header().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[test]
    fn debug_is_redacted() {
        for auth in [
            Auth::basic("bob", "s3cr3t"),
            Auth::bearer("s3cr3t"),
            Auth::header("X-Key", "s3cr3t"),
        ] {
            let text = format!("{auth:?}");
            assert!(!text.contains("s3cr3t"), "{text}");
            assert!(text.contains("[REDACTED]"), "{text}");
        }
        assert!(format!("{:?}", Auth::basic("bob", "x")).contains("bob"));
    }
}
