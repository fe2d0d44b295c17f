//! Running the `itsm` binary in a throwaway directory.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// A temporary directory with its own database and configuration.
pub(crate) struct Env {
    /// The directory.
    pub(crate) dir: tempfile::TempDir,
}

impl Env {
    /// A fresh directory.
    pub(crate) fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The database file.
    pub(crate) fn db(&self) -> PathBuf {
        self.dir.path().join("itsm.db")
    }

    /// Writes `itsm.toml`.
    pub(crate) fn config(&self, text: &str) -> PathBuf {
        let path = self.dir.path().join("itsm.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs itsm in the temp dir with its own database and no inherited ITSM_* settings.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_itsm"));
        for (k, _) in std::env::vars() {
            if ["ITSM_", "PAGERDUTY_", "SERVICENOW_", "JIRA_"]
                .iter()
                .any(|p| k.starts_with(p))
            {
                cmd.env_remove(k);
            }
        }
        cmd.current_dir(self.dir.path())
            .env("ITSM_DB", self.db())
            .env("HOME", self.dir.path())
            .args(args)
            .output()
            .expect("run itsm")
    }
}

/// Standard output as text.
pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The exit code.
pub(crate) fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}
