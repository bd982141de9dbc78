//! # stm-core: transactional memory and a garbage-collected heap for guest objects
//!
//! Guest threads get the semantics of a global interpreter lock without one:
//! every stretch of guest code between two transaction boundaries behaves as
//! if it ran alone, in some serial order (pypy-stm's model). This crate is the
//! runtime underneath: a heap of STM-managed objects, transactions over them,
//! and the conflict log that explains lost parallelism.
//!
//! ## Using it
//!
//! ```
//! use stm_core::{Config, Runtime};
//! let rt = Runtime::new(Config::default());
//! let mut th = rt.register_thread().unwrap();
//! let obj = th.atomically(|tx| {
//!     let o = tx.alloc(7, 2)?;          // shape 7, two fields
//!     tx.write(o, 0, 42)?;
//!     Ok(o)
//! }).unwrap();
//! rt.add_root(obj);                      // keep it alive across collections
//! let v = th.atomically(|tx| tx.read(obj, 0)).unwrap();
//! assert_eq!(v, 42);
//! ```
//!
//! An interpreter uses the lower-level calls instead of closures:
//! [`StmThread::begin`], reads/writes that return [`StmError::Conflict`] when
//! the transaction was aborted and rolled back (restart from the last
//! transaction start), [`StmThread::should_break_transaction`] /
//! [`StmThread::break_transaction`] at loop back-edges and calls,
//! [`StmThread::atomic_enter`]/[`StmThread::atomic_exit`] for atomic blocks and
//! [`StmThread::become_inevitable`] before I/O. Machine code uses the inlined
//! fast paths and `extern "C"` slow paths documented in [`abi`].
//!
//! ## Design in one page (details in the module essays)
//!
//! * **Objects** ([`object`]): a lock/version word, a meta word, 8-byte fields.
//!   Byte buffers are the same with raw payload.
//! * **Transactions** (`thread.rs`, see [`StmThread`]): object-granular TL2 —
//!   global version clock, per-object versioned lock, invisible reads validated
//!   against the snapshot on every read with timestamp extension (opacity),
//!   encounter-time locking with write-through and an undo log for writes.
//!   Fresh objects are born locked by their transaction and need no barrier.
//! * **Inevitability**: the clock's low bit is the single inevitable token;
//!   while it is held, other writers pause at commit.
//! * **Contention** : bounded waiting, karma-based abort requests, randomised
//!   backoff, adaptive transaction length, escalation to inevitable after a
//!   configurable number of consecutive aborts — which guarantees progress.
//! * **Heap** ([`heap`](crate#heap)): per-thread size-class allocation with no
//!   shared state on the fast path; non-moving mark-sweep at a global
//!   safepoint between transactions; roots from a global table, per-thread
//!   shadow stacks and scanner callbacks.
//! * **Host objects** ([`host`]): interpreter-owned Rust values in the same
//!   heap, traced precisely by a [`HostTracer`] and finalized when dead; the
//!   Lua interpreter in interp-example allocates all its guest objects so.
//! * **Conflict log** ([`log`](crate#conflict-log)): `STMLOG=FILE`, rendered by
//!   [`report::render`].
//!
//! ## Heap
//! See the essay at the top of `heap.rs` and `runtime.rs`.
//!
//! ## Conflict log
//! See the essay at the top of `log.rs`.
//!
//! ## Miri
//! All shared memory is accessed through atomics, the only `unsafe` is raw
//! pointer dereferencing of object addresses with documented invariants, and
//! no integer-to-pointer tricks beyond exposing addresses are used, so the
//! crate is meant to run under Miri. Miri (nightly) is **not installable on
//! this machine**, so that has not been done; see the README.

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod abi;
mod heap;
pub mod host;
mod log;
pub mod object;
pub mod report;
mod runtime;
mod thread;

pub use host::{HostMarker, HostTracer};
pub use log::ConflictKind;
pub use object::ObjRef;
pub use runtime::{Config, HeapStats, RootId, Runtime};
pub use thread::{StmThread, STATUS_ABORTED, STATUS_ACTIVE, STATUS_ERROR, STATUS_IDLE};

/// Errors of transactional operations. Only [`StmError::Conflict`] is part of
/// normal operation (retry); the others report misuse or resource exhaustion
/// and never leave the runtime in an inconsistent state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StmError {
    /// The transaction conflicted and has been rolled back: restart it.
    Conflict,
    /// The operation needs a running transaction.
    NotInTransaction,
    /// `begin` inside a running transaction.
    AlreadyInTransaction,
    /// `commit` inside an atomic block.
    InAtomicBlock,
    /// `atomic_exit` without `atomic_enter`.
    NotInAtomicBlock,
    /// Field (or byte) index out of range.
    FieldOutOfBounds {
        /// The index asked for.
        index: usize,
        /// The object's field (or byte) count.
        len: usize,
    },
    /// A byte-buffer operation on a non-buffer object.
    WrongKind,
    /// Object too large.
    TooLarge,
    /// The system allocator failed.
    OutOfMemory,
    /// All thread slots are in use.
    TooManyThreads,
    /// The conflict log could not be opened.
    Io(String),
    /// An internal lock was poisoned by a panic in a callback.
    Poisoned,
}

impl std::fmt::Display for StmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StmError::Conflict => write!(f, "transaction conflict (rolled back; retry)"),
            StmError::NotInTransaction => write!(f, "not in a transaction"),
            StmError::AlreadyInTransaction => write!(f, "already in a transaction"),
            StmError::InAtomicBlock => write!(f, "cannot commit inside an atomic block"),
            StmError::NotInAtomicBlock => write!(f, "not in an atomic block"),
            StmError::FieldOutOfBounds { index, len } => {
                write!(f, "index {index} out of bounds (length {len})")
            }
            StmError::WrongKind => write!(f, "object is not a byte buffer"),
            StmError::TooLarge => write!(f, "object too large"),
            StmError::OutOfMemory => write!(f, "out of memory"),
            StmError::TooManyThreads => write!(f, "too many registered threads"),
            StmError::Io(e) => write!(f, "conflict log: {e}"),
            StmError::Poisoned => write!(f, "internal lock poisoned"),
        }
    }
}

impl std::error::Error for StmError {}

/// Per-thread transaction statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadStats {
    /// Committed transactions.
    pub commits: u64,
    /// Aborted transaction attempts.
    pub aborts: u64,
    /// Pauses (waits on locks or the inevitable token).
    pub pauses: u64,
    /// Time spent in committed transactions (only measured while logging).
    pub commit_ns: u64,
    /// Time lost in aborted attempts (only measured while logging).
    pub abort_ns: u64,
    /// Time spent paused.
    pub pause_ns: u64,
}
