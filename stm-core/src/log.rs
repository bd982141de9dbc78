//! The conflict log (`STMLOG=FILE`).
//!
//! # What is recorded
//!
//! Only events that cost time are written: each **abort** (kind, thread, when
//! the aborted attempt started, how long it ran — the time lost), each
//! **pause** (waiting for a lock owner, for the inevitable token, or for an
//! inevitable transaction to finish before committing) and, once per thread
//! when it unregisters or the log is flushed, a **stats** line with its commit
//! and abort totals. Commits are counted, never logged one by one, so a
//! conflict-free program writes almost nothing.
//!
//! Each event carries two guest locations, already rendered to text by the
//! interpreter's marker callback (see [`Runtime::set_marker_callback`]):
//! for write-read conflicts the writer's and the reader's, for write-write the
//! other writer's and ours, for inevitable waits the inevitable transaction's
//! and ours. The interpreter publishes its current location as an opaque
//! `u64` cookie ([`StmThread::set_location`], or a store to the thread
//! descriptor from machine code); turning cookies into text happens only when
//! an event is written.
//!
//! Where the locations come from:
//! * the **reader's** location: when logging is on, every read-set entry also
//!   stores the cookie current at the time of the read (a second vector push
//!   in the read barrier; its cost is measured in `benches/barriers.rs` and
//!   reported in the README). stmgc does not record it at all.
//! * the **writer's** location of a lock-detected conflict: the cookie the lock
//!   owner published at its most recent write-barrier slow path;
//! * the **writer's** location of a conflict found by validation (the writer
//!   has already committed): a striped table indexed by object address that
//!   committing writers fill when logging is on.
//!
//! # Format
//!
//! A text file, one record per line, fields separated by TAB (shown as `|`
//! below); locations have tabs and newlines escaped. See `report.rs` for the
//! reader.
//!
//! ```text
//! STMLOG|1
//! A|<thread>|<kind>|<start_ns>|<lost_ns>|<loc1>|<loc2>
//! P|<thread>|<kind>|<start_ns>|<paused_ns>|<loc1>|<loc2>
//! S|<thread>|<commits>|<commit_ns>|<aborts>|<abort_ns>|<pause_ns>
//! T|<elapsed_ns>
//! ```
//!
//! [`Runtime::set_marker_callback`]: crate::Runtime::set_marker_callback
//! [`StmThread::set_location`]: crate::StmThread::set_location

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// Why a transaction aborted or paused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConflictKind {
    /// Two transactions wrote the same object.
    WriteWrite,
    /// A transaction read an object another one wrote.
    WriteRead,
    /// Waiting for, or aborted in favour of, the inevitable transaction.
    Inevitable,
    /// Aborted on request of the program ([`crate::StmThread::abort`]).
    Explicit,
}

impl ConflictKind {
    /// The name used in the log and the report.
    pub fn name(self) -> &'static str {
        match self {
            ConflictKind::WriteWrite => "write-write",
            ConflictKind::WriteRead => "write-read",
            ConflictKind::Inevitable => "inevitable",
            ConflictKind::Explicit => "explicit",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            ConflictKind::WriteWrite => 1,
            ConflictKind::WriteRead => 2,
            ConflictKind::Inevitable => 3,
            ConflictKind::Explicit => 4,
        }
    }

    pub(crate) fn from_code(c: u8) -> ConflictKind {
        match c {
            1 => ConflictKind::WriteWrite,
            2 => ConflictKind::WriteRead,
            3 => ConflictKind::Inevitable,
            _ => ConflictKind::Explicit,
        }
    }
}

/// An open conflict log.
pub(crate) struct ConflictLog {
    out: Mutex<BufWriter<File>>,
    t0: Instant,
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
}

impl ConflictLog {
    pub(crate) fn open(path: &Path) -> std::io::Result<ConflictLog> {
        let mut w = BufWriter::new(File::create(path)?);
        writeln!(w, "STMLOG\t1")?;
        Ok(ConflictLog {
            out: Mutex::new(w),
            t0: Instant::now(),
        })
    }

    pub(crate) fn now_ns(&self) -> u64 {
        self.t0.elapsed().as_nanos() as u64
    }

    fn line(&self, s: &str) {
        if let Ok(mut w) = self.out.lock() {
            // Logging must never make the guest program fail: I/O errors are dropped.
            let _ = w.write_all(s.as_bytes());
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn event(
        &self,
        tag: char,
        thread: usize,
        kind: ConflictKind,
        start_ns: u64,
        dur_ns: u64,
        loc1: &str,
        loc2: &str,
    ) {
        self.line(&format!(
            "{tag}\t{thread}\t{}\t{start_ns}\t{dur_ns}\t{}\t{}\n",
            kind.name(),
            escape(loc1),
            escape(loc2)
        ));
    }

    pub(crate) fn stats(&self, thread: usize, s: &crate::ThreadStats) {
        self.line(&format!(
            "S\t{thread}\t{}\t{}\t{}\t{}\t{}\n",
            s.commits, s.commit_ns, s.aborts, s.abort_ns, s.pause_ns
        ));
    }

    pub(crate) fn flush(&self) {
        let t = self.now_ns();
        if let Ok(mut w) = self.out.lock() {
            let _ = writeln!(w, "T\t{t}");
            let _ = w.flush();
        }
    }
}
