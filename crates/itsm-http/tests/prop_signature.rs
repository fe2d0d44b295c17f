//! Property tests of the webhook signature helpers: for random secrets and bodies, the
//! signature a sender computes verifies; any one-byte change to the body or to the
//! signature does not; arbitrary header text never panics and is refused.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test -p itsm-http --test prop_signature`.

use itsm_http::{SecretString, hmac_sha256_hex, verify_hmac_sha256_hex};
use itsm_testkit::fuzz;
use proptest::prelude::*;
use proptest::sample::Index;

/// Characters that are not hex digits but that a lenient decoder might take for one (a
/// sign, whitespace, letters past `f`, a full-width digit, NUL).
const NOT_HEX: [char; 12] = [
    '+', '-', ' ', '\t', 'g', 'G', 'x', 'z', '\u{ff10}', '\0', '_', '.',
];

fn secret() -> impl Strategy<Value = String> {
    ".{0,64}"
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    fuzz::arbitrary_bytes(512)
}

/// A different hex digit than `c`, case ignored.
fn other_hex_digit(c: char, pick: u8) -> char {
    let digits = "0123456789abcdef";
    let others: Vec<char> = digits
        .chars()
        .filter(|d| !d.eq_ignore_ascii_case(&c))
        .collect();
    others[usize::from(pick) % others.len()]
}

fn replaced(text: &str, at: usize, with: char) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| if i == at { with } else { c })
        .collect()
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn a_sender_signature_verifies_in_either_case(secret in secret(), body in body()) {
        let secret = SecretString::from(secret);
        let signature = hmac_sha256_hex(&secret, &body);
        prop_assert_eq!(signature.len(), 64);
        prop_assert!(signature.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        prop_assert!(verify_hmac_sha256_hex(&secret, &body, &signature));
        prop_assert!(verify_hmac_sha256_hex(&secret, &body, &signature.to_uppercase()));
        let padded = format!(" {signature}\n");
        prop_assert!(verify_hmac_sha256_hex(&secret, &body, &padded));
    }

    #[test]
    fn a_one_byte_change_to_the_body_fails(
        secret in secret(),
        body in body(),
        at in any::<Index>(),
        flip in 1u8..=255,
        appended in any::<u8>(),
    ) {
        let secret = SecretString::from(secret);
        let signature = hmac_sha256_hex(&secret, &body);
        if !body.is_empty() {
            let mut changed = body.clone();
            changed[at.index(body.len())] ^= flip;
            prop_assert!(!verify_hmac_sha256_hex(&secret, &changed, &signature));
            let mut shorter = body.clone();
            shorter.remove(at.index(body.len()));
            prop_assert!(!verify_hmac_sha256_hex(&secret, &shorter, &signature));
        }
        let mut longer = body.clone();
        longer.push(appended);
        prop_assert!(!verify_hmac_sha256_hex(&secret, &longer, &signature));
    }

    #[test]
    fn another_secret_does_not_verify(a in secret(), b in secret(), body in body()) {
        prop_assume!(a != b);
        let signature = hmac_sha256_hex(&SecretString::from(a), &body);
        prop_assert!(!verify_hmac_sha256_hex(&SecretString::from(b), &body, &signature));
    }

    #[test]
    fn arbitrary_header_text_is_refused_without_panicking(
        secret in secret(),
        body in body(),
        header in prop_oneof![".{0,80}", "[0-9a-fA-F+ -]{0,70}", "[0-9a-f]{64}"],
    ) {
        let secret = SecretString::from(secret);
        let signature = hmac_sha256_hex(&secret, &body);
        let verified = verify_hmac_sha256_hex(&secret, &body, &header);
        prop_assert_eq!(verified, header.trim().eq_ignore_ascii_case(&signature));
    }
}

proptest! {
    // Each case checks every position against every look-alike: fewer cases.
    #![proptest_config(fuzz::config(64))]

    #[test]
    fn a_one_character_change_to_the_signature_fails(
        secret in secret(),
        body in body(),
        at in 0usize..64,
        pick in any::<u8>(),
    ) {
        let secret = SecretString::from(secret);
        let signature = hmac_sha256_hex(&secret, &body);
        let digit = signature.chars().nth(at).unwrap_or('0');
        let wrong_digit = replaced(&signature, at, other_hex_digit(digit, pick));
        prop_assert!(!verify_hmac_sha256_hex(&secret, &body, &wrong_digit));
        // Every position, every look-alike: none may decode to the same bytes.
        for i in 0..signature.len() {
            for c in NOT_HEX {
                let bad = replaced(&signature, i, c);
                prop_assert!(
                    !verify_hmac_sha256_hex(&secret, &body, &bad),
                    "{:?} verified with {:?} at {}", bad, c, i
                );
            }
        }
        prop_assert!(!verify_hmac_sha256_hex(&secret, &body, &signature[..63]));
        prop_assert!(!verify_hmac_sha256_hex(&secret, &body, &signature[..62]));
        let longer = format!("{signature}00");
        prop_assert!(!verify_hmac_sha256_hex(&secret, &body, &longer));
        prop_assert!(!verify_hmac_sha256_hex(&secret, &body, ""));
    }
}
