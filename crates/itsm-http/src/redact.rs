//! Keeping credentials out of error text, `Debug` output and traces.

use url::Url;

/// The text put in place of a secret value.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// Whether a query parameter called `name` probably carries a secret.
///
/// Matches, ignoring case: names containing `token`, `password`, `passwd`, `secret`,
/// `signature`, `credential` or `apikey`; names ending in `key` (`api_key`, `routing_key`,
/// `integration_key`...); and the names `sig`, `code`, `pwd`, `auth` and `session`.
///
/// ```
/// use itsm_http::is_secret_param;
///
/// assert!(is_secret_param("access_token"));
/// assert!(is_secret_param("API_KEY"));
/// assert!(is_secret_param("sig"));
/// assert!(!is_secret_param("sysparm_limit"));
/// ```
pub fn is_secret_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    const CONTAINS: [&str; 7] = [
        "token",
        "password",
        "passwd",
        "secret",
        "signature",
        "credential",
        "apikey",
    ];
    const EXACT: [&str; 5] = ["sig", "code", "pwd", "auth", "session"];
    CONTAINS.iter().any(|needle| lower.contains(needle))
        || lower.ends_with("key")
        || EXACT.contains(&lower.as_str())
}

/// A URL as it may appear in an error message or a log line.
///
/// Drops the user name, password and fragment, and replaces the value of every query
/// parameter that [looks secret](is_secret_param) with `REDACTED`.
///
/// ```
/// use itsm_http::redact_url;
/// use url::Url;
///
/// let url = Url::parse("https://bob:hunter2@x.service-now.com/api?api_key=abc&limit=5#top")?;
/// assert_eq!(redact_url(&url), "https://x.service-now.com/api?api_key=REDACTED&limit=5");
/// # Ok::<(), url::ParseError>(())
/// ```
pub fn redact_url(url: &Url) -> String {
    let mut clean = url.clone();
    // Both only fail for URLs that cannot have credentials at all (`mailto:`...).
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.set_fragment(None);
    if clean.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_param(&k) {
                    "REDACTED".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        clean.set_query(None);
        if !pairs.is_empty() {
            clean.query_pairs_mut().extend_pairs(pairs);
        }
    }
    clean.into()
}

/// At most `max_chars` characters of a response body, for an error message.
///
/// Invalid UTF-8 is replaced, control characters (newlines included) become spaces and runs
/// of whitespace are collapsed; `…` marks a cut.
pub(crate) fn body_excerpt(body: &[u8], max_chars: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(text.len().min(max_chars + 4));
    let mut count = 0;
    let mut last_space = true;
    for c in text.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && last_space {
            continue;
        }
        if count == max_chars {
            out.push('…');
            return out;
        }
        last_space = c == ' ';
        out.push(c);
        count += 1;
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_and_fragment_are_dropped() {
        let url = Url::parse("https://admin:s3cr3t@example.com/jira/rest?x=1#frag").unwrap();
        let text = redact_url(&url);
        assert_eq!(text, "https://example.com/jira/rest?x=1");
        assert!(!text.contains("s3cr3t"));
        assert!(!text.contains("admin"));
    }

    #[test]
    fn secret_looking_query_values_are_redacted() {
        let url = Url::parse(
            "https://h/p?token=a1&api_key=a2&routing_key=a3&Signature=a4&sig=a5&code=a6\
             &password=a7&client_secret=a8&access_token=a9&limit=10&q=state%3Dnew",
        )
        .unwrap();
        let text = redact_url(&url);
        for i in 1..=9 {
            assert!(!text.contains(&format!("=a{i}")), "a{i} leaked in {text}");
        }
        assert!(text.contains("limit=10"), "{text}");
        assert!(text.contains("q=state%3Dnew"), "{text}");
        assert_eq!(text.matches("REDACTED").count(), 9, "{text}");
    }

    #[test]
    fn url_without_query_is_unchanged() {
        let url = Url::parse("https://site.atlassian.net/jira/").unwrap();
        assert_eq!(redact_url(&url), "https://site.atlassian.net/jira/");
    }

    #[test]
    fn excerpt_is_bounded_and_single_line() {
        assert_eq!(body_excerpt(b"  a\n\n b\tc  ", 100), "a b c");
        let long = "x".repeat(600);
        let cut = body_excerpt(long.as_bytes(), 512);
        assert_eq!(cut.chars().count(), 513);
        assert!(cut.ends_with('…'));
        assert_eq!(body_excerpt("é".repeat(10).as_bytes(), 3), "ééé…");
        assert_eq!(body_excerpt(&[0xff, b'o', b'k'], 10), "\u{fffd}ok");
        assert_eq!(body_excerpt(b"", 10), "");
    }
}
