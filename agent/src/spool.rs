//! The durable spool: raw readings wait here, on disk, until the server acknowledges them.
//! SQLite in WAL mode with full synchronisation: a batch that `push` returned is on disk and
//! survives a crash or a power cut; sequence numbers are never reused, so the server can
//! store batches idempotently on (agent, sequence).

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

/// How long a statement waits for another connection's lock before it fails.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// What happens when the spool is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FullPolicy {
    /// Drop the oldest batches to make room (recent counters matter more than old ones);
    /// every drop is counted and logged.
    DropOldest,
    /// Refuse the new batch: nothing already read is lost, new readings wait for room.
    RefuseNew,
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the spool is full ({bytes} bytes of {limit}) and refuses new readings")]
    Full { bytes: u64, limit: u64 },
    #[error("a batch of {0} bytes is larger than the whole spool")]
    TooLarge(u64),
    /// The disk (or the file's page cap) is full: nothing already spooled is lost, the new
    /// batch is not kept; the next cycles try again.
    #[error("the disk holding the spool is full; readings already spooled are kept, new ones are not")]
    DiskFull,
    #[error("spool database: {0}")]
    Db(rusqlite::Error),
    #[error("cannot make the spool {0} private to its owner: {1}")]
    Permissions(String, std::io::Error),
}

impl From<rusqlite::Error> for SpoolError {
    fn from(err: rusqlite::Error) -> Self {
        match &err {
            rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::DiskFull => SpoolError::DiskFull,
            _ => SpoolError::Db(err),
        }
    }
}

/// The outcome of a push.
#[derive(Debug, PartialEq, Eq)]
pub struct Pushed {
    pub sequence: u64,
    /// Batches dropped to make room (DropOldest).
    pub dropped: u64,
}

/// A write transaction that takes (or waits for) the write lock first: a deferred one that read
/// before writing would fail at once if another connection had written meanwhile.
fn write(conn: &mut Connection) -> Result<rusqlite::Transaction<'_>, SpoolError> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

pub struct Spool {
    conn: Connection,
    limit: u64,
    policy: FullPolicy,
}

impl Spool {
    pub fn open(path: &Path, limit: u64, policy: FullPolicy) -> Result<Spool, SpoolError> {
        let conn = Connection::open(path)?;
        // Another connection (`status`, a second look) may hold the database for a moment:
        // wait for it rather than fail a write, which would stop the service.
        conn.busy_timeout(BUSY_WAIT)?;
        // The spool keeps the last configuration, SNMP secrets included: owner only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| SpoolError::Permissions(path.display().to_string(), e))?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS batches (sequence INTEGER PRIMARY KEY, payload BLOB NOT NULL, bytes INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS config (id INTEGER PRIMARY KEY CHECK (id = 1), json BLOB NOT NULL, received_at INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS notes (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS cycle_runs (range_id TEXT NOT NULL, cycle TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (range_id, cycle));
             INSERT OR IGNORE INTO meta (key, value) VALUES ('next_sequence', 1), ('dropped', 0), ('refused', 0);
             INSERT OR REPLACE INTO meta (key, value) VALUES ('bytes', (SELECT coalesce(sum(bytes), 0) FROM batches));",
        )?;
        // `bytes` is kept up to date by push and ack so that a push costs the same with ten
        // batches waiting or ten thousand; it is recomputed here in case an older agent (or a
        // hand) changed the table.
        Ok(Spool { conn, limit, policy })
    }

    /// Opens the spool of a running (or stopped) agent to look at it, as `status` does: read
    /// only, so that it never takes a write lock the service would have to wait for. Writing
    /// through it fails.
    pub fn inspect(path: &Path) -> Result<Spool, SpoolError> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(BUSY_WAIT)?;
        Ok(Spool { conn, limit: u64::MAX, policy: FullPolicy::RefuseNew })
    }

    fn meta(&self, key: &str) -> Result<u64, SpoolError> {
        let v: i64 = self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))?;
        Ok(u64::try_from(v).unwrap_or(0))
    }

    /// Batches and bytes waiting.
    pub fn depth(&self) -> Result<(u64, u64), SpoolError> {
        let count: i64 = self.conn.query_row("SELECT count(*) FROM batches", [], |r| r.get(0))?;
        Ok((u64::try_from(count).unwrap_or(0), self.meta("bytes")?))
    }

    /// Batches dropped since the spool was created (DropOldest).
    pub fn dropped(&self) -> Result<u64, SpoolError> {
        self.meta("dropped")
    }

    /// Batches refused since the spool was created (RefuseNew when full, or a full disk).
    pub fn refused(&self) -> Result<u64, SpoolError> {
        self.meta("refused")
    }

    /// Counts batches that were not kept because the spool (or its disk) was full.
    pub fn count_refused(&mut self, batches: u64) -> Result<(), SpoolError> {
        self.conn.execute(
            "UPDATE meta SET value = value + ?1 WHERE key = 'refused'",
            [i64::try_from(batches).unwrap_or(i64::MAX)],
        )?;
        Ok(())
    }

    /// Stores a batch durably and gives it the next sequence number.
    pub fn push(&mut self, payload: &[u8]) -> Result<Pushed, SpoolError> {
        let size = payload.len() as u64;
        if size > self.limit {
            return Err(SpoolError::TooLarge(size));
        }
        let tx = write(&mut self.conn)?;
        let mut dropped = 0;
        let stored: i64 = tx.query_row("SELECT value FROM meta WHERE key = 'bytes'", [], |r| r.get(0))?;
        let mut bytes = u64::try_from(stored).unwrap_or(0);
        while bytes + size > self.limit {
            match self.policy {
                FullPolicy::RefuseNew => return Err(SpoolError::Full { bytes, limit: self.limit }),
                FullPolicy::DropOldest => {
                    let oldest: Option<(i64, i64)> = tx
                        .query_row("SELECT sequence, bytes FROM batches ORDER BY sequence LIMIT 1", [], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })
                        .optional()?;
                    let Some((oldest, oldest_bytes)) = oldest else { break };
                    tx.execute("DELETE FROM batches WHERE sequence = ?1", [oldest])?;
                    bytes = bytes.saturating_sub(u64::try_from(oldest_bytes).unwrap_or(0));
                    dropped += 1;
                }
            }
        }
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'bytes'",
            [i64::try_from(bytes + size).unwrap_or(i64::MAX)],
        )?;
        let sequence: i64 = tx.query_row("SELECT value FROM meta WHERE key = 'next_sequence'", [], |r| r.get(0))?;
        tx.execute(
            "INSERT INTO batches (sequence, payload, bytes) VALUES (?1, ?2, ?3)",
            params![sequence, payload, i64::try_from(size).unwrap_or(i64::MAX)],
        )?;
        tx.execute("UPDATE meta SET value = value + 1 WHERE key = 'next_sequence'", [])?;
        if dropped > 0 {
            tx.execute("UPDATE meta SET value = value + ?1 WHERE key = 'dropped'", [dropped])?;
            tracing::warn!(dropped, "spool full: dropped the oldest readings to keep the newest");
        }
        tx.commit()?;
        Ok(Pushed { sequence: u64::try_from(sequence).unwrap_or(0), dropped })
    }

    /// Caps the database file at `pages` pages (of 4 KiB by default): beyond it SQLite answers
    /// "full" exactly as on a full disk. Used to prove that a full disk loses nothing.
    pub fn cap_pages(&mut self, pages: u64) -> Result<(), SpoolError> {
        self.conn.pragma_update(None, "max_page_count", pages)?;
        Ok(())
    }

    /// The oldest `limit` batches, in order.
    pub fn pending(&self, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, SpoolError> {
        self.pending_after(0, limit)
    }

    /// The oldest `limit` batches numbered after `sequence`, in order (what a link has not
    /// sent yet on its current connection).
    pub fn pending_after(&self, sequence: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, SpoolError> {
        let mut statement = self
            .conn
            .prepare("SELECT sequence, payload FROM batches WHERE sequence > ?1 ORDER BY sequence LIMIT ?2")?;
        let rows = statement.query_map(
            params![i64::try_from(sequence).unwrap_or(i64::MAX), i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| Ok((u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0), r.get::<_, Vec<u8>>(1)?)),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When each (range, cycle) last ran, as Unix seconds: kept beside the readings so that a
    /// restarted agent does not run every cycle again at once.
    pub fn last_runs(&self) -> Result<Vec<(String, String, i64)>, SpoolError> {
        let mut statement = self.conn.prepare("SELECT range_id, cycle, at FROM cycle_runs")?;
        let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn record_run(&mut self, range_id: &str, cycle: &str, at: i64) -> Result<(), SpoolError> {
        self.conn.execute(
            "INSERT INTO cycle_runs (range_id, cycle, at) VALUES (?1, ?2, ?3)
             ON CONFLICT (range_id, cycle) DO UPDATE SET at = excluded.at",
            params![range_id, cycle, at],
        )?;
        Ok(())
    }

    /// Records the link going up or down (for `cartouche-agent status`, which reads this
    /// database while the service runs).
    pub fn record_link(&mut self, up: bool, at: i64) -> Result<(), SpoolError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('link_up', ?1), ('link_since', ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![i64::from(up), at],
        )?;
        Ok(())
    }

    /// Whether the link was last up, and since when (Unix seconds); `None` before the first
    /// attempt.
    pub fn link_state(&self) -> Result<Option<(bool, i64)>, SpoolError> {
        let up: Option<i64> =
            self.conn.query_row("SELECT value FROM meta WHERE key = 'link_up'", [], |r| r.get(0)).optional()?;
        let since: Option<i64> =
            self.conn.query_row("SELECT value FROM meta WHERE key = 'link_since'", [], |r| r.get(0)).optional()?;
        Ok(up.zip(since).map(|(up, since)| (up != 0, since)))
    }

    /// Keeps the configuration last received, so that an agent restarted while the server is
    /// unreachable goes on with its cycles.
    pub fn save_config(&mut self, json: &[u8], at: i64) -> Result<(), SpoolError> {
        self.conn.execute(
            "INSERT INTO config (id, json, received_at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET json = excluded.json, received_at = excluded.received_at",
            params![json, at],
        )?;
        Ok(())
    }

    /// The configuration last received and when (Unix seconds).
    pub fn load_config(&self) -> Result<Option<(Vec<u8>, i64)>, SpoolError> {
        Ok(self
            .conn
            .query_row("SELECT json, received_at FROM config WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Keeps a short text for `status` (what the local print system gave, …).
    pub fn set_note(&mut self, key: &str, value: &str) -> Result<(), SpoolError> {
        self.conn.execute(
            "INSERT INTO notes (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn note(&self, key: &str) -> Result<Option<String>, SpoolError> {
        Ok(self.conn.query_row("SELECT value FROM notes WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    /// Forgets every batch up to and including `sequence` (the server stored them).
    pub fn ack(&mut self, sequence: u64) -> Result<usize, SpoolError> {
        let sequence = i64::try_from(sequence).unwrap_or(i64::MAX);
        let tx = write(&mut self.conn)?;
        let freed: i64 =
            tx.query_row("SELECT coalesce(sum(bytes), 0) FROM batches WHERE sequence <= ?1", [sequence], |r| r.get(0))?;
        let deleted = tx.execute("DELETE FROM batches WHERE sequence <= ?1", [sequence])?;
        tx.execute("UPDATE meta SET value = max(value - ?1, 0) WHERE key = 'bytes'", [freed])?;
        tx.commit()?;
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("cartouche-spool-{}-{}.db", std::process::id(), rand_suffix()))
    }

    /// Removes a test spool with its WAL and shared-memory files.
    fn remove(path: &std::path::Path) {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }

    fn rand_suffix() -> u128 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
    }

    #[test]
    fn batches_survive_a_restart_until_acknowledged() {
        let path = temp();
        {
            let mut spool = Spool::open(&path, 1 << 20, FullPolicy::RefuseNew).unwrap();
            assert_eq!(spool.push(b"one").unwrap().sequence, 1);
            assert_eq!(spool.push(b"two").unwrap().sequence, 2);
            assert_eq!(spool.push(b"three").unwrap().sequence, 3);
        }
        let mut spool = Spool::open(&path, 1 << 20, FullPolicy::RefuseNew).unwrap();
        assert_eq!(spool.pending(10).unwrap().iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(spool.ack(2).unwrap(), 2);
        assert_eq!(spool.pending(10).unwrap(), vec![(3, b"three".to_vec())]);
        // Sequences are never reused, even after everything was acknowledged.
        spool.ack(3).unwrap();
        drop(spool);
        let mut spool = Spool::open(&path, 1 << 20, FullPolicy::RefuseNew).unwrap();
        assert_eq!(spool.push(b"four").unwrap().sequence, 4);
        remove(&path);
    }

    #[test]
    fn a_full_disk_refuses_the_new_batch_and_keeps_the_others() {
        let path = temp();
        let mut spool = Spool::open(&path, 1 << 30, FullPolicy::DropOldest).unwrap();
        let pages: u64 = spool.conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        spool.cap_pages(pages + 8).unwrap();
        let batch = vec![7u8; 6000];
        let mut kept = 0;
        let err = loop {
            match spool.push(&batch) {
                Ok(_) => kept += 1,
                Err(err) => break err,
            }
            assert!(kept < 100, "the cap never bit");
        };
        assert!(matches!(err, SpoolError::DiskFull), "{err:?}");
        assert!(err.to_string().contains("disk holding the spool is full"));
        assert_eq!(spool.depth().unwrap().0, kept, "what was spooled stays");
        // Room again (the server acknowledged): spooling goes on, numbers continue.
        let first = spool.pending(1).unwrap()[0].0;
        spool.ack(first).unwrap();
        let pushed = spool.push(&[1, 2, 3]).unwrap();
        assert_eq!(pushed.sequence, kept + 1);
        drop(spool);
        remove(&path);
    }

    #[test]
    fn the_last_configuration_is_kept_across_a_restart_in_a_private_file() {
        let path = temp();
        {
            let mut spool = Spool::open(&path, 1 << 20, FullPolicy::RefuseNew).unwrap();
            assert_eq!(spool.load_config().unwrap(), None);
            spool.save_config(b"{\"ranges\":[]}", 10).unwrap();
            spool.save_config(b"{\"ranges\":[1]}", 20).unwrap();
        }
        let spool = Spool::open(&path, 1 << 20, FullPolicy::RefuseNew).unwrap();
        assert_eq!(spool.load_config().unwrap(), Some((b"{\"ranges\":[1]}".to_vec(), 20)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        drop(spool);
        remove(&path);
    }

    #[test]
    fn last_cycle_runs_and_the_link_state_are_kept_across_a_restart() {
        let path = temp();
        {
            let mut spool = Spool::open(&path, 1 << 20, FullPolicy::RefuseNew).unwrap();
            spool.record_run("hq", "counters", 100).unwrap();
            spool.record_run("hq", "counters", 200).unwrap();
            spool.record_run("branch", "discovery", 50).unwrap();
        }
        let mut spool = Spool::open(&path, 1 << 20, FullPolicy::RefuseNew).unwrap();
        assert_eq!(spool.link_state().unwrap(), None, "never tried");
        spool.record_link(true, 300).unwrap();
        spool.record_link(false, 400).unwrap();
        assert_eq!(spool.link_state().unwrap(), Some((false, 400)));
        let mut runs = spool.last_runs().unwrap();
        runs.sort();
        assert_eq!(runs, vec![("branch".into(), "discovery".into(), 50), ("hq".into(), "counters".into(), 200)]);
        remove(&path);
    }

    #[test]
    fn a_full_spool_follows_its_policy_and_says_so() {
        let path = temp();
        let mut refuse = Spool::open(&path, 10, FullPolicy::RefuseNew).unwrap();
        refuse.push(b"12345678").unwrap();
        assert!(matches!(refuse.push(b"abc"), Err(SpoolError::Full { bytes: 8, limit: 10 })));
        assert!(matches!(refuse.push(&[0; 11]), Err(SpoolError::TooLarge(11))));
        assert_eq!(refuse.depth().unwrap(), (1, 8));
        remove(&path);

        let path = temp();
        let mut drop_oldest = Spool::open(&path, 10, FullPolicy::DropOldest).unwrap();
        drop_oldest.push(b"aaaa").unwrap();
        drop_oldest.push(b"bbbb").unwrap();
        let pushed = drop_oldest.push(b"cccc").unwrap();
        assert_eq!(pushed, Pushed { sequence: 3, dropped: 1 });
        assert_eq!(drop_oldest.pending(10).unwrap().iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(drop_oldest.dropped().unwrap(), 1);
        assert_eq!(drop_oldest.depth().unwrap(), (2, 8), "the bytes of the dropped batch are freed");
        drop_oldest.ack(2).unwrap();
        assert_eq!(drop_oldest.depth().unwrap(), (1, 4), "and those of an acknowledged one");
        // Room is counted right after the drops and the ack: six bytes fit next to four.
        assert_eq!(drop_oldest.push(b"dddddd").unwrap().dropped, 0);
        drop(drop_oldest);
        let reopened = Spool::open(&path, 10, FullPolicy::DropOldest).unwrap();
        assert_eq!(reopened.depth().unwrap(), (2, 10), "the count survives a restart");
        remove(&path);
    }

    /// `cartouche-agent status` (or anything else) opening the spool while the service writes
    /// it: the service's writes wait for the other connection instead of failing (a failed push
    /// stopped the service and lost the cycle's readings), and a look never writes.
    #[test]
    fn a_reader_beside_the_running_agent_never_makes_a_write_fail() {
        let path = temp();
        let mut spool = Spool::open(&path, 1 << 30, FullPolicy::RefuseNew).unwrap();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // One looks as `status` does, one opens the spool fully (which writes its byte count).
        let readers: Vec<_> = [true, false]
            .into_iter()
            .map(|read_only| {
                let (path, done) = (path.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut looks = 0u32;
                    while !done.load(std::sync::atomic::Ordering::Relaxed) || looks == 0 {
                        let status = if read_only {
                            Spool::inspect(&path).unwrap()
                        } else {
                            Spool::open(&path, 1 << 30, FullPolicy::RefuseNew).unwrap()
                        };
                        status.depth().unwrap();
                        status.load_config().unwrap();
                        status.last_runs().unwrap();
                        looks += 1;
                    }
                    looks
                })
            })
            .collect();
        for i in 0..300u32 {
            let sequence = spool.push(&i.to_be_bytes()).unwrap().sequence;
            spool.save_config(format!("{{\"n\":{i}}}").as_bytes(), i64::from(i)).unwrap();
            spool.record_run("hq", "counters", i64::from(i)).unwrap();
            spool.record_link(i % 2 == 0, i64::from(i)).unwrap();
            if i % 10 == 9 {
                spool.ack(sequence).unwrap();
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        for reader in readers {
            assert!(reader.join().unwrap() > 0);
        }
        assert_eq!(spool.depth().unwrap(), (0, 0));
        let mut status = Spool::inspect(&path).unwrap();
        assert!(status.save_config(b"{}", 0).is_err(), "a look never writes");
        assert_eq!(status.load_config().unwrap(), Some((b"{\"n\":299}".to_vec(), 299)));
        drop(status);
        drop(spool);
        // And with the agent stopped (its WAL files gone with its last connection).
        assert!(!std::path::Path::new(&format!("{}-wal", path.display())).exists());
        assert_eq!(Spool::inspect(&path).unwrap().load_config().unwrap().map(|(_, at)| at), Some(299));
        remove(&path);
    }
}
