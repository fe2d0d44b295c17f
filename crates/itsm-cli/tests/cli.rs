//! The `itsm` binary as a pipeline sees it: help, version, exit codes.

use std::process::Command;

fn itsm(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_itsm"))
        .args(args)
        .output()
        .expect("run itsm")
}

#[test]
fn help_documents_exit_codes() {
    let out = itsm(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Usage: itsm"), "{text}");
    for line in [
        "0  success",
        "2  usage error",
        "3  denied by policy",
        "4  the backend",
    ] {
        assert!(text.contains(line), "missing {line:?} in {text}");
    }
}

#[test]
fn version_is_the_crate_version() {
    let out = itsm(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("itsm {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = itsm(&["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--no-such-flag"), "{err}");
}
