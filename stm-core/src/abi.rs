//! The contract with machine code: descriptor offsets, inlined fast paths,
//! and `extern "C"` slow paths.
//!
//! # The thread descriptor
//!
//! Compiled code keeps a pointer to the thread's [`StmThread`] in a pinned
//! register (Cranelift's `enable_pinned_reg` reserves `r15` on x86-64; it is
//! callee-saved, so Rust slow paths preserve it). The first fields of the
//! `#[repr(C)]` struct are the descriptor:
//!
//! | offset | field | meaning |
//! |---|---|---|
//! | [`OFF_RV_ENC`] = 0 | `rv_enc` | `rv << 12 \| 0xfff`; 0 outside a transaction |
//! | [`OFF_MY_LOCK`] = 8 | `my_lock` | `1 << 63 \| slot`, the value of an object locked by this thread |
//! | [`OFF_STATUS`] = 16 | `status` | [`STATUS_IDLE`]/[`STATUS_ACTIVE`]/[`STATUS_ABORTED`]/[`STATUS_ERROR`] |
//! | [`OFF_CUR_LOC`] = 24 | `cur_loc` | guest location cookie (store it at each bytecode boundary when profiling) |
//! | [`OFF_WORK`] = 32 | `work` | work counter for `should_break_transaction` |
//! | [`OFF_BUDGET`] = 40 | `budget` | the adaptive budget |
//! | [`OFF_FILTER`] = 48 | `filter[64]` | read-set filter, direct-mapped on `(obj >> 4) & 63` |
//!
//! Object words: lock/version at `[obj+0]`, meta at `[obj+8]`, field `i` at
//! `[obj + 16 + 8*i]` ([`FIELD0_OFFSET`]).
//!
//! # Read barrier fast path (x86-64, `th` = r15, `obj` in rdi)
//!
//! ```text
//!     mov   rax, [rdi]                ; h = lock/version word
//!     cmp   rax, [r15 + 0]            ; h <= rv_enc ? (unsigned)
//!     ja    slow                      ; locked, or newer than the snapshot
//!     mov   rdx, [rdi + 16 + 8*i]     ; v = field i
//!     cmp   rax, [rdi]                ; re-check: unchanged?
//!     jne   slow
//!     mov   rcx, rdi                  ; read-set filter: already logged?
//!     shr   rcx, 4
//!     and   ecx, 63
//!     cmp   rdi, [r15 + 48 + rcx*8]
//!     jne   log                       ; cold: call stm_core_log_read(r15, rdi)
//! done:                               ; v in rdx
//! slow: (cold) rdx = stm_core_read_slow(r15, rdi, i); then
//!     cmp   qword [r15 + 16], 1 ; jne abort_exit    (status must stay ACTIVE)
//! ```
//!
//! Memory ordering: on x86-64 (TSO) loads are not reordered with other loads,
//! so the three loads execute in program order without fences; this is the
//! hardware image of the Rust code's `load(Acquire); load(Relaxed);
//! fence(Acquire); load(Relaxed)`. The writer's side (`lock cmpxchg` to take
//! the lock, then plain stores) is ordered by the locked instruction. If the
//! field load saw a speculative value, the lock was taken before it, so the
//! re-check sees the lock (or, after release, a different word: a new version
//! on commit, a bumped incarnation on abort) and the value is discarded. The
//! bounds check is omitted: the JIT knows the shape of objects it guards on.
//! Objects the trace itself allocated or already write-barriered are owned by
//! the transaction and should be read with a plain `mov` (like stmrewrite's
//! "no barrier on fresh objects"); the fast path above would send them to the
//! slow path, which is still correct. The filter check can be dropped for a
//! second read of the same object in one trace segment (no call in between).
//!
//! ## In Cranelift IR
//!
//! With `th = get_pinned_reg.i64` and `obj` an i64 value:
//!
//! ```text
//!     h    = atomic_load.i64 obj              ; NOT a plain load, see below
//!     rv   = load.i64 notrap aligned th       ; +0: rv_enc
//!     bad  = icmp ugt h, rv
//!     brif bad, slow, load                    ; slow: set_cold_block
//! load:
//!     v    = load.i64 notrap aligned obj+16+8*i
//!     h2   = atomic_load.i64 obj
//!     chg  = icmp ne h, h2
//!     brif chg, slow, filter
//! filter:
//!     k    = ushr_imm obj, 4 ; k = band_imm k, 63 ; k = ishl_imm k, 3
//!     slot = iadd th, k
//!     seen = load.i64 notrap aligned slot+48
//!     miss = icmp ne seen, obj
//!     brif miss, log, done                    ; log: call stm_core_log_read (cold)
//! ```
//!
//! The two header loads must be `atomic_load` (a plain `mov` on x86-64):
//! Cranelift's alias analysis may otherwise treat the re-check as redundant
//! with the first load and delete it, or move the field load across it.
//! Atomic instructions are also barriers to that analysis, so a field load
//! after a read barrier is never forwarded from before it.
//!
//! # Write barrier fast path
//!
//! ```text
//!     mov   rax, [r15 + 8]            ; my_lock
//!     cmp   [rdi], rax                ; owned by this transaction?
//!     jne   slow
//!     mov   [rdi + 16 + 8*i], rsi     ; the store itself
//! done:
//! slow: (cold) rax = stm_core_write_slow(r15, rdi, i, rsi)   ; does the store
//!     test  rax, rax ; jnz abort_exit ; jmp done
//! ```
//!
//! Once per object per transaction the slow path CASes the lock word and saves
//! the payload in the undo log; every later write is the 3-instruction check
//! plus the store. Objects with more than 32 fields are the exception: they
//! are locked with the `FIELD_LOGGED` bit, the compare keeps failing, and each
//! write goes through the slow path, which logs just the overwritten field
//! (the JIT may skip the inline check for objects it knows to be large). No
//! fence is needed on the fast path: only the owning thread ever stores
//! `my_lock` into an object, so the comparison reads its own earlier store.
//! The slow path's CAS is a full barrier on x86-64.
//!
//! # Other entry points
//!
//! All take the descriptor pointer first. After any call, `status` tells
//! whether the transaction is still running: [`STATUS_ABORTED`] means it was
//! rolled back and the trace must exit to the interpreter, which restarts from
//! the last transaction start. None of them unwinds or panics on bad input
//! (null pointers return errors).

use crate::object::ObjRef;
use crate::thread::*;
use crate::{StmError, StmThread};
use std::sync::atomic::AtomicU64;

/// Offset of `rv_enc` in the descriptor.
pub const OFF_RV_ENC: usize = 0;
/// Offset of `my_lock` in the descriptor.
pub const OFF_MY_LOCK: usize = 8;
/// Offset of `status` in the descriptor.
pub const OFF_STATUS: usize = 16;
/// Offset of `cur_loc` in the descriptor.
pub const OFF_CUR_LOC: usize = 24;
/// Offset of `work` in the descriptor.
pub const OFF_WORK: usize = 32;
/// Offset of `budget` in the descriptor.
pub const OFF_BUDGET: usize = 40;
/// Offset of the read-set filter in the descriptor.
pub const OFF_FILTER: usize = 48;
/// Byte offset of field 0 from the object header.
pub const FIELD0_OFFSET: usize = 16;

fn status_of(e: &StmError) -> u64 {
    if *e == StmError::Conflict {
        STATUS_ABORTED
    } else {
        STATUS_ERROR
    }
}

/// Turns raw pointers into references; `None` on null.
///
/// # Safety
/// `th` must be null or point to a live `StmThread` used only by this thread.
unsafe fn parts<'a>(
    th: *mut StmThread,
    obj: *const AtomicU64,
) -> Option<(&'a mut StmThread, ObjRef)> {
    // SAFETY: forwarded contract.
    let t = unsafe { th.as_mut() }?;
    // SAFETY: ObjRef::from_bits only wraps the address; validity is the caller's contract.
    let o = unsafe { ObjRef::from_bits(obj as usize as u64) }?;
    Some((t, o))
}

/// Read barrier slow path: returns field `field` of `obj`. On a conflict the
/// transaction is rolled back, `status` becomes [`STATUS_ABORTED`] and 0 is
/// returned; on a guest error (bad index) `status` becomes [`STATUS_ERROR`].
///
/// # Safety
/// `th` is the calling thread's descriptor; `obj` a live object.
#[no_mangle]
pub unsafe extern "C" fn stm_core_read_slow(
    th: *mut StmThread,
    obj: *const AtomicU64,
    field: u64,
) -> u64 {
    // SAFETY: forwarded contract.
    let Some((t, o)) = (unsafe { parts(th, obj) }) else {
        return 0;
    };
    match t.read_slow(o, field as usize) {
        Ok(v) => {
            t.status = STATUS_ACTIVE;
            v
        }
        Err(e) => {
            if t.in_transaction() || e == StmError::Conflict {
                t.status = status_of(&e);
            }
            0
        }
    }
}

/// Adds `obj` to the read set (the cold branch of the read fast path's
/// filter check).
///
/// # Safety
/// As [`stm_core_read_slow`].
#[no_mangle]
pub unsafe extern "C" fn stm_core_log_read(th: *mut StmThread, obj: *const AtomicU64) {
    // SAFETY: forwarded contract.
    if let Some((t, o)) = unsafe { parts(th, obj) } {
        if t.in_transaction() {
            t.log_read(o);
        }
    }
}

/// Write barrier slow path, including the store of `value` into field
/// `field`. Returns 0 on success, otherwise the new `status`
/// ([`STATUS_ABORTED`]: rolled back; [`STATUS_ERROR`]: bad index or pointer,
/// nothing stored).
///
/// # Safety
/// As [`stm_core_read_slow`].
#[no_mangle]
pub unsafe extern "C" fn stm_core_write_slow(
    th: *mut StmThread,
    obj: *const AtomicU64,
    field: u64,
    value: u64,
) -> u64 {
    // SAFETY: forwarded contract.
    let Some((t, o)) = (unsafe { parts(th, obj) }) else {
        return STATUS_ERROR;
    };
    match t.write_slow(o, field as usize, value) {
        Ok(()) => {
            t.status = STATUS_ACTIVE;
            0
        }
        Err(e) => {
            let s = status_of(&e);
            if t.in_transaction() || s == STATUS_ABORTED {
                t.status = s;
            }
            s
        }
    }
}

/// Allocates an object with `nfields` fields; null on failure (check `status`).
///
/// # Safety
/// As [`stm_core_read_slow`] (`th` only).
#[no_mangle]
pub unsafe extern "C" fn stm_core_alloc(
    th: *mut StmThread,
    shape: u32,
    nfields: u64,
) -> *mut AtomicU64 {
    // SAFETY: forwarded contract.
    let Some(t) = (unsafe { th.as_mut() }) else {
        return std::ptr::null_mut();
    };
    match t.alloc(shape, nfields as usize) {
        Ok(o) => o.as_ptr() as *mut AtomicU64,
        Err(_) => std::ptr::null_mut(),
    }
}

/// Returns 1 if the transaction should end at this break point.
///
/// # Safety
/// As [`stm_core_alloc`].
#[no_mangle]
pub unsafe extern "C" fn stm_core_should_break(th: *mut StmThread) -> u32 {
    // SAFETY: forwarded contract.
    unsafe { th.as_ref() }.map_or(0, |t| t.should_break_transaction() as u32)
}

/// Commits and starts the next transaction. Returns the new `status`
/// ([`STATUS_ACTIVE`] on success, [`STATUS_ABORTED`] after a failed commit:
/// restart from the previous break point).
///
/// # Safety
/// As [`stm_core_alloc`].
#[no_mangle]
pub unsafe extern "C" fn stm_core_break_transaction(th: *mut StmThread) -> u64 {
    // SAFETY: forwarded contract.
    let Some(t) = (unsafe { th.as_mut() }) else {
        return STATUS_ERROR;
    };
    match t.break_transaction() {
        Ok(()) => t.status,
        Err(e) => {
            let s = status_of(&e);
            t.status = s;
            s
        }
    }
}

/// Makes the transaction inevitable (before a call that is not
/// transaction-safe). Returns the new `status`.
///
/// # Safety
/// As [`stm_core_alloc`].
#[no_mangle]
pub unsafe extern "C" fn stm_core_become_inevitable(th: *mut StmThread) -> u64 {
    // SAFETY: forwarded contract.
    let Some(t) = (unsafe { th.as_mut() }) else {
        return STATUS_ERROR;
    };
    match t.become_inevitable() {
        Ok(()) => {
            t.status = STATUS_ACTIVE;
            t.status
        }
        Err(e) => {
            let s = status_of(&e);
            t.status = s;
            s
        }
    }
}
