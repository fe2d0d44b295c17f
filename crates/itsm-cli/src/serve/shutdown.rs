//! The signal that stops `itsm serve`: SIGTERM or Ctrl-C (SIGINT).

/// Completes at the first SIGTERM or Ctrl-C. If the handlers cannot be installed, it
/// never completes (the process is then stopped by SIGKILL; nothing accepted is lost).
pub async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
