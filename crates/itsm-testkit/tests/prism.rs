//! The Prism harness itself: a request the Events API v2 spec allows is answered 202, one it
//! does not allow is refused with the violations named. Needs `ITSM_TEST_PRISM` and
//! `ITSM_TEST_SPECS` (`scripts/contract-mocks.sh`); skipped without them outside CI.

use std::io::{Read, Write};
use std::net::TcpStream;

use itsm_testkit::prism::PrismMock;

fn post(base: &str, path: &str, body: &str) -> String {
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn prism_validates_requests_against_the_spec() {
    let Some(prism) = PrismMock::start("pagerduty-events.json") else {
        return;
    };
    let good = r#"{"routing_key":"R0123456789abcdef0123456789abcdef","event_action":"trigger",
        "dedup_key":"alertmanager:abc:1","payload":{"summary":"Checkout down","source":"prometheus",
        "severity":"critical"}}"#;
    let answer = post(&prism.base_url(), "/enqueue", good);
    assert!(
        answer.starts_with("HTTP/1.1 202"),
        "{answer}\n{}",
        prism.log()
    );

    let bad = r#"{"routing_key":"R0123456789abcdef0123456789abcdef","event_action":"trigger",
        "payload":{"summary":"Checkout down","source":"prometheus","severity":"catastrophic"}}"#;
    let answer = post(&prism.base_url(), "/enqueue", bad);
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("sl-violations"),
        "{answer}"
    );
}
