//! Which replica does the periodic housekeeping (escalating unacknowledged pages, relaying
//! notifications to chat): the one holding a session advisory lock, on a connection of its
//! own, for the queue's schema. The lock lives as long as that connection: when the
//! replica dies or loses the connection, another takes it at its next try. So a
//! notification is relayed by one replica, not by each.

use super::{Conn, PostgresQueue};

/// The first half of the advisory lock's key (`itsm` in ASCII); the second is the hash of
/// the schema, so that deployments in different schemas do not share a leader.
const LEAD_LOCK: i32 = 0x6974_736d;

/// This replica's claim to the housekeeping; see [`PostgresQueue::leadership`].
#[derive(Debug)]
pub struct Leadership {
    conn: Conn,
    schema: String,
    held: bool,
}

impl Leadership {
    pub(super) fn new(queue: &PostgresQueue) -> Leadership {
        Leadership {
            conn: queue.conn(),
            schema: queue.schema().unwrap_or_default().to_owned(),
            held: false,
        }
    }

    /// Whether this replica leads now: it held the lock on a connection still open, or
    /// took it just now. `false` when another replica holds it or the server cannot be
    /// reached.
    pub async fn holds(&mut self) -> bool {
        if self.held && self.conn.is_open() {
            return true;
        }
        self.held = false;
        let Ok((client, _)) = self.conn.get().await else {
            return false;
        };
        let taken = client
            .query_one(
                "SELECT pg_try_advisory_lock($1, hashtext($2))",
                &[&LEAD_LOCK, &self.schema],
            )
            .await
            .and_then(|row| row.try_get::<_, bool>(0));
        self.held = taken.unwrap_or(false);
        self.held
    }
}
