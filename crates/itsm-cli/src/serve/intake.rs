//! Where the HTTP handlers hand what they accepted: the SQLite writer thread or the
//! PostgreSQL writer task. Both answer after the commit, with how many rows were new.

use std::sync::mpsc::Sender;

use itsm_core::{Error, ErrorKind, Result};
use tokio::sync::{mpsc, oneshot};

use super::postgres::PgOp;
use super::queue::QueueItem;
use super::writer::{NewRow, Op};

/// The queue's writer, as the handlers see it.
#[derive(Debug, Clone)]
pub(crate) enum Intake {
    /// The SQLite writer thread.
    Sqlite(Sender<Op>),
    /// The PostgreSQL writer task.
    Postgres(mpsc::UnboundedSender<PgOp>),
}

impl Intake {
    /// Hands the items to the writer and waits for the commit; the number newly stored.
    pub(crate) async fn enqueue(&self, items: Vec<QueueItem>) -> Result<usize> {
        let rows = items
            .into_iter()
            .map(NewRow::new)
            .collect::<Result<Vec<_>>>()?;
        let (reply, answer) = oneshot::channel();
        match self {
            Intake::Sqlite(writer) => writer
                .send(Op::Enqueue { rows, reply })
                .map_err(|_| stopped())?,
            Intake::Postgres(writer) => writer
                .send(PgOp::Enqueue { rows, reply })
                .map_err(|_| stopped())?,
        }
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> Error {
    Error::new(
        ErrorKind::Unavailable,
        "the alert queue's writer has stopped",
    )
}
