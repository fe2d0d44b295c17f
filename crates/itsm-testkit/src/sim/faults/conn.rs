//! Connections that a fault can cut: the listener hands every connection a [`Switch`];
//! once the switch is thrown, the connection refuses all further reads and writes, so the
//! server drops it without writing an answer, and it closes with a TCP reset.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Cuts one connection; requests reach it as their `ConnectInfo`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Switch(Arc<AtomicBool>);

impl Switch {
    /// Cuts the connection: nothing more is read or written on it.
    pub(crate) fn cut(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_cut(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, FaultListener>> for Switch {
    fn connect_info(stream: IncomingStream<'_, FaultListener>) -> Self {
        stream.io().switch.clone()
    }
}

/// A TCP listener whose connections each carry a [`Switch`].
#[derive(Debug)]
pub(crate) struct FaultListener {
    inner: TcpListener,
}

impl FaultListener {
    pub(crate) fn new(inner: TcpListener) -> Self {
        FaultListener { inner }
    }
}

impl Listener for FaultListener {
    type Io = FaultIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (FaultIo, SocketAddr) {
        // axum's own accept loop for TCP, which waits out accept errors.
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        let io = FaultIo {
            stream,
            switch: Switch::default(),
            reset_armed: false,
        };
        (io, addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection that fails every operation once its switch is cut.
#[derive(Debug)]
pub(crate) struct FaultIo {
    stream: TcpStream,
    switch: Switch,
    reset_armed: bool,
}

impl FaultIo {
    /// `Some(error)` once cut; the first time, the socket is also set to close with a reset
    /// (`SO_LINGER` 0) when the server drops it.
    fn cut_error(&mut self) -> Option<io::Error> {
        if !self.switch.is_cut() {
            return None;
        }
        if !self.reset_armed {
            self.reset_armed = true;
            // Without it the close is an orderly FIN: still no answer, so still fine.
            let _ = self.stream.set_zero_linger();
        }
        Some(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection cut by the simulator's fault plan",
        ))
    }
}

impl AsyncRead for FaultIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(e) = self.cut_error() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.cut_error() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.cut_error() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.cut_error() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.cut_error() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
