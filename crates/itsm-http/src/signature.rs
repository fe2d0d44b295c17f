//! HMAC-SHA256 webhook signatures, checked in constant time.
//!
//! PagerDuty signs webhooks v3 with `X-PagerDuty-Signature: v1=<hex>` (several during a
//! secret rotation) and Jira with `X-Hub-Signature: sha256=<hex>`; both are a hex HMAC-SHA256
//! of the raw body. Adapters parse their header format and call [`verify_hmac_sha256_hex`].

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The HMAC-SHA256 of `body` under `secret`, as lower-case hex (what a sender puts in its
/// signature header; use it to sign test deliveries).
pub fn hmac_sha256_hex(secret: &SecretString, body: &[u8]) -> String {
    let mut mac = new_mac(secret);
    mac.update(body);
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    hex
}

/// Whether `signature_hex` (upper or lower case) is the HMAC-SHA256 of `body` under
/// `secret`. The comparison is constant-time; malformed hex is simply `false`.
pub fn verify_hmac_sha256_hex(secret: &SecretString, body: &[u8], signature_hex: &str) -> bool {
    let Some(signature) = decode_hex(signature_hex.trim()) else {
        return false;
    };
    let mut mac = new_mac(secret);
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

fn new_mac(secret: &SecretString) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    match Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

/// Hex digits to bytes: only `0-9`, `a-f` and `A-F` count as digits (no sign, no
/// whitespace), two per byte.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| match pair {
            [high, low] => Some((nibble(*high)? << 4) | nibble(*low)?),
            _ => None,
        })
        .collect()
}

fn nibble(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|n| u8::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4231_test_case_2() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        let secret = SecretString::from("Jefe");
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(
            hmac_sha256_hex(&secret, b"what do ya want for nothing?"),
            expected
        );
        assert!(verify_hmac_sha256_hex(
            &secret,
            b"what do ya want for nothing?",
            expected
        ));
        assert!(verify_hmac_sha256_hex(
            &secret,
            b"what do ya want for nothing?",
            &expected.to_uppercase()
        ));
    }

    #[test]
    fn wrong_body_secret_or_hex_is_refused() {
        let secret = SecretString::from("whsec");
        let good = hmac_sha256_hex(&secret, b"{}");
        assert!(!verify_hmac_sha256_hex(&secret, b"{ }", &good));
        assert!(!verify_hmac_sha256_hex(
            &SecretString::from("other"),
            b"{}",
            &good
        ));
        assert!(!verify_hmac_sha256_hex(&secret, b"{}", &good[..62]));
        assert!(!verify_hmac_sha256_hex(&secret, b"{}", "zz"));
        assert!(!verify_hmac_sha256_hex(&secret, b"{}", "é"));
        assert!(!verify_hmac_sha256_hex(&secret, b"{}", ""));
    }

    #[test]
    fn only_hex_digits_are_digits() {
        // `u8::from_str_radix` reads "+1" as 1: a signature with a `+` in place of a `0`
        // must not verify.
        assert_eq!(decode_hex("0aFf"), Some(vec![0x0a, 0xff]));
        for bad in ["+1", "-1", " 1", "1 ", "0x", "g0", "\u{ff10}0"] {
            assert_eq!(decode_hex(bad), None, "{bad:?}");
        }
        let secret = SecretString::from("whsec");
        let good = hmac_sha256_hex(&secret, b"{}");
        // The first digit of a byte below 0x10: "+d" was read as 0x0d.
        let at = good
            .char_indices()
            .find(|(i, c)| i % 2 == 0 && *c == '0')
            .map(|(i, _)| i)
            .expect("this signature has a byte below 0x10");
        let mut plus = good.clone();
        plus.replace_range(at..=at, "+");
        assert!(!verify_hmac_sha256_hex(&secret, b"{}", &plus));
    }
}
