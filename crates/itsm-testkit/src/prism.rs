//! A Stoplight Prism mock server of a vendor spec, for adapters' contract tests.
//!
//! `scripts/contract-mocks.sh` installs Prism and prepares the specs of
//! `../shared/contracts/`; it prints `ITSM_TEST_PRISM` (the `prism` executable) and
//! `ITSM_TEST_SPECS` (the directory of prepared specs: `pagerduty-rest.json`,
//! `pagerduty-events.json`, `jira-platform.json`, `jira-servicedesk.json`,
//! `servicenow-table.yaml`). `.ci/run` runs it.
//!
//! Prism runs with `--errors`: a request that breaks the spec is answered with an error
//! status (400/422 and the violations in the `sl-violations` header), so an adapter call
//! that returns `Ok` against it sent what the spec allows. Prism takes a few seconds to
//! start on a large spec: start one per test function and run every operation in it.
//!
//! ```no_run
//! # fn run() {
//! let Some(prism) = itsm_testkit::prism::PrismMock::start("pagerduty-events.json") else {
//!     return; // skipped: ITSM_TEST_PRISM / ITSM_TEST_SPECS not set
//! };
//! let base = prism.base_url(); // http://127.0.0.1:<port>/
//! # let _ = base;
//! # }
//! ```

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::outside::outside_part;

/// How long Prism may take to start before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A running Prism mock server; stopped when dropped.
#[derive(Debug)]
pub struct PrismMock {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl PrismMock {
    /// Starts Prism on a free loopback port for `spec` (a file name in `ITSM_TEST_SPECS`).
    /// `None` (after printing that the test skipped) when the variables are not set.
    ///
    /// # Panics
    ///
    /// When the variables are missing under `ITSM_CI=1`, the spec file is missing, or Prism
    /// does not start: a contract test cannot run without it.
    pub fn start(spec: &str) -> Option<PrismMock> {
        let prism = outside_part("ITSM_TEST_PRISM", "the Prism mock server")?;
        let specs = outside_part("ITSM_TEST_SPECS", "the prepared vendor specs")?;
        let spec_path = Path::new(&specs).join(spec);
        assert!(
            spec_path.is_file(),
            "{} is missing; run `bash scripts/contract-mocks.sh`",
            spec_path.display()
        );
        Some(Self::start_with(Path::new(&prism), &spec_path))
    }

    /// Starts `prism` for the spec at `spec_path`.
    ///
    /// # Panics
    ///
    /// When Prism cannot be started or does not listen within 90 s.
    pub fn start_with(prism: &Path, spec_path: &Path) -> PrismMock {
        let port = free_port();
        let log =
            std::env::temp_dir().join(format!("itsm-prism-{}-{port}.log", std::process::id()));
        let log_file = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let log_err = log_file
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot reopen {}: {e}", log.display()));
        let child = Command::new(prism)
            .args([
                "mock",
                "--errors",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .arg(spec_path)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", prism.display()));
        let mut mock = PrismMock {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        };
        mock.wait_until_listening();
        mock
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// What Prism printed so far (its request log with every violation): put it in an
    /// assertion message.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    fn wait_until_listening(&mut self) {
        let started = Instant::now();
        loop {
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "Prism exited with {status} before listening:\n{}",
                    self.log()
                );
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "Prism did not listen on {} within {START_TIMEOUT:?}:\n{}",
                self.addr,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for PrismMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}
