//! The CLI's [`Fulfiller`]: runs a configured command with the request as JSON on standard
//! input, and stops it after a timeout.
//!
//! Standard input gets `{"request", "offering", "requester", "urgency", "inputs"}`; the
//! environment also has `ITSM_REQUEST_ID` and `ITSM_OFFERING`. Exit status 0 means
//! fulfilled, and the trimmed standard output (at most 2,000 characters) is the note for
//! the requester. Any other status, a command that cannot start, or one still running at
//! the timeout (it is killed) is a failure whose message carries the end of standard error.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use itsm_core::{Error, ErrorKind, Result};
use itsm_specialist::{Fulfiller, Fulfilment, Offering, SpecialistRequest};
use serde_json::json;

/// Longest note or error excerpt kept from the command's output.
const KEEP: usize = 2000;
/// How often a running command is checked.
const POLL: Duration = Duration::from_millis(5);

/// Runs `command` for one offering.
#[derive(Debug, Clone)]
pub(crate) struct CommandFulfiller {
    pub(crate) command: Vec<String>,
    pub(crate) timeout: Duration,
}

#[async_trait]
impl Fulfiller for CommandFulfiller {
    async fn fulfil(&self, offering: &Offering, request: &SpecialistRequest) -> Result<Fulfilment> {
        let stdin = json!({
            "request": request.id,
            "offering": offering.id,
            "requester": request.requester,
            "urgency": request.urgency,
            "inputs": request.inputs,
        })
        .to_string();
        let this = self.clone();
        let (id, offering_id) = (request.id.to_string(), offering.id.to_string());
        let job = move || this.run(&stdin, &id, &offering_id);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle.spawn_blocking(job).await.map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    format!("the fulfiller task failed: {e}"),
                )
            })?,
            Err(_) => job(),
        }
    }
}

impl CommandFulfiller {
    fn program(&self) -> &str {
        self.command.first().map_or("", String::as_str)
    }

    fn run(&self, stdin: &str, request: &str, offering: &str) -> Result<Fulfilment> {
        let program = self.program();
        let mut child = Command::new(program)
            .args(self.command.iter().skip(1))
            .env("ITSM_REQUEST_ID", request)
            .env("ITSM_OFFERING", offering)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "the fulfiller of {offering} ({program}) cannot be started: {e}; check \
                         [specialist.fulfiller.\"{offering}\"] command"
                    ),
                )
            })?;
        if let Some(mut input) = child.stdin.take() {
            let stdin = stdin.to_owned();
            // A command that does not read its input must not block us: write on a thread.
            std::thread::spawn(move || {
                let _ = input.write_all(stdin.as_bytes());
            });
        }
        let stdout = reader(child.stdout.take());
        let stderr = reader(child.stderr.take());
        let status = wait(&mut child, self.timeout);
        let Some(status) = status? else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "the fulfiller of {offering} ({program}) was still running after {}s and \
                     was stopped",
                    self.timeout.as_secs_f64()
                ),
            ));
        };
        let out = collect(stdout);
        if status.success() {
            let note = match out.trim() {
                "" => format!("fulfilled by {program}"),
                text => tail(text).to_owned(),
            };
            return Ok(Fulfilment { note });
        }
        let err = collect(stderr);
        let detail = match err.trim() {
            "" => tail(out.trim()).to_owned(),
            text => tail(text).to_owned(),
        };
        Err(Error::new(
            ErrorKind::Internal,
            format!("the fulfiller of {offering} ({program}) failed with {status}: {detail}"),
        ))
    }
}

/// Waits for `child` until `timeout`; `Ok(None)` when it is still running.
fn wait(child: &mut Child, timeout: Duration) -> Result<Option<std::process::ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(Some(status)),
            Ok(None) if Instant::now() >= deadline => return Ok(None),
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Internal,
                    format!("cannot wait for the fulfiller command: {e}"),
                ));
            }
        }
    }
}

fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> Option<JoinHandle<String>> {
    pipe.map(|mut p| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = p.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    })
}

fn collect(handle: Option<JoinHandle<String>>) -> String {
    handle.and_then(|h| h.join().ok()).unwrap_or_default()
}

/// The last [`KEEP`] characters of `text`.
fn tail(text: &str) -> &str {
    let count = text.chars().count();
    if count <= KEEP {
        return text;
    }
    let skip = text.char_indices().nth(count - KEEP).map_or(0, |(i, _)| i);
    text.get(skip..).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::tail;

    #[test]
    fn tails_keep_the_end_on_char_boundaries() {
        assert_eq!(tail("short"), "short");
        let long = format!("{}é{}", "a".repeat(10), "b".repeat(1999));
        assert_eq!(tail(&long), format!("é{}", "b".repeat(1999)));
    }
}
