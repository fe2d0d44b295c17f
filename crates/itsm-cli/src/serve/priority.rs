//! Processing in the background: queued alerts are processed on threads of their own, at
//! a lower CPU priority than the threads that accept requests (`[serve] processing_nice`).
//!
//! Accepting an alert is a short, latency-bound step (parse, queue, one commit), and the
//! sender waits for it; processing is longer and nobody waits for it, since the alert is
//! already safe in the queue. When both want the CPU, accepting goes first, and processing
//! uses whatever the acceptance path leaves over: at nice 10 it still gets about a tenth
//! of a contended core, and all of an idle one. Without contention the nice value changes
//! nothing.
//!
//! On Linux the nice value is a per-thread attribute, so it is set on each thread of the
//! processing runtime (its workers and its blocking pool) when the thread starts. Other
//! systems run the processing threads at the server's priority.

use std::fmt;

use itsm_core::{Error, ErrorKind, Result};
use tokio::runtime::{Handle, Runtime};

/// The highest nice value (the lowest priority) Linux knows.
pub(crate) const MAX_NICE: u8 = 19;

/// The runtime processing runs on; shut down (without waiting) when dropped.
pub(crate) struct ProcessingRuntime {
    runtime: Option<Runtime>,
    nice: u8,
}

impl fmt::Debug for ProcessingRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessingRuntime")
            .field("nice", &self.nice)
            .finish()
    }
}

impl ProcessingRuntime {
    /// Starts the processing runtime (two worker threads) with every thread at `nice`;
    /// `None` for `nice == 0` (processing then shares the server's runtime).
    pub(crate) fn start(nice: u8) -> Result<Option<Self>> {
        if nice == 0 {
            return Ok(None);
        }
        if nice > MAX_NICE {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "[serve] processing_nice is {nice}; use 0 (same priority as accepting) to \
                     {MAX_NICE} (lowest)"
                ),
            ));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("itsm-process")
            .enable_all()
            // Where the system refuses, processing runs at the server's priority.
            .on_thread_start(move || lower_this_thread(nice))
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    format!("cannot start the alert processing threads: {e}"),
                )
                .with_source(e)
            })?;
        Ok(Some(ProcessingRuntime {
            runtime: Some(runtime),
            nice,
        }))
    }

    /// Where processing tasks are spawned.
    pub(crate) fn handle(&self) -> Option<Handle> {
        self.runtime.as_ref().map(|r| r.handle().clone())
    }
}

impl Drop for ProcessingRuntime {
    fn drop(&mut self) {
        // Dropping a runtime inside another one would block; the worker has finished the
        // alerts in hand by now, so nothing is left to wait for.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Lowers the calling thread's priority to `nice`.
#[cfg(target_os = "linux")]
fn lower_this_thread(nice: u8) {
    // `setpriority(PRIO_PROCESS, 0, ...)` applies to the calling thread on Linux.
    let _ = rustix::process::setpriority_process(None, i32::from(nice));
}

#[cfg(not(target_os = "linux"))]
fn lower_this_thread(_nice: u8) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_shares_the_server_runtime_and_too_high_is_a_config_error() {
        assert!(ProcessingRuntime::start(0).unwrap().is_none());
        let err = ProcessingRuntime::start(20).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("processing_nice is 20"), "{err}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn processing_threads_run_at_the_configured_nice_value_and_others_do_not() {
        let before = rustix::process::getpriority_process(None).unwrap();
        let runtime = ProcessingRuntime::start(7).unwrap().unwrap();
        let handle = runtime.handle().unwrap();
        let inside = handle
            .block_on(handle.spawn(async { rustix::process::getpriority_process(None) }))
            .unwrap()
            .unwrap();
        // Lowering always works; raising (when the tests already run above 7) needs a
        // privilege.
        if before <= 7 {
            assert_eq!(inside, 7);
        }
        let blocking = handle
            .block_on(handle.spawn_blocking(|| rustix::process::getpriority_process(None)))
            .unwrap()
            .unwrap();
        assert_eq!(blocking, inside);
        // The test's own thread keeps its priority.
        assert_eq!(rustix::process::getpriority_process(None).unwrap(), before);
        drop(runtime);
    }
}
