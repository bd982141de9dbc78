//! API behaviour: misuse a guest program could trigger returns errors (no
//! panics), the machine-code ABI works and its offsets are as documented.

use std::sync::atomic::AtomicU64;
use stm_core::abi::*;
use stm_core::{
    Config, Runtime, StmError, STATUS_ABORTED, STATUS_ACTIVE, STATUS_ERROR, STATUS_IDLE,
};

#[test]
fn misuse_returns_errors() {
    let rt = Runtime::new(Config {
        max_threads: 2,
        ..Config::default()
    });
    let mut th = rt.register_thread().unwrap();
    assert_eq!(th.commit(), Err(StmError::NotInTransaction));
    assert_eq!(th.atomic_exit(), Err(StmError::NotInAtomicBlock));
    assert_eq!(th.become_inevitable(), Err(StmError::NotInTransaction));
    let o = th.atomically(|tx| tx.alloc(3, 2)).unwrap();
    rt.add_root(o);
    assert_eq!(th.read(o, 0), Err(StmError::NotInTransaction));
    assert_eq!(th.write(o, 0, 1), Err(StmError::NotInTransaction));
    let r = th.atomically(|tx| tx.read(o, 2));
    assert_eq!(r, Err(StmError::FieldOutOfBounds { index: 2, len: 2 }));
    let r = th.atomically(|tx| tx.write(o, 7, 1));
    assert_eq!(r, Err(StmError::FieldOutOfBounds { index: 7, len: 2 }));
    let r = th.atomically(|tx| tx.read_bytes(o));
    assert_eq!(r, Err(StmError::WrongKind));
    let r = th.atomically(|tx| tx.alloc(1, usize::MAX));
    assert_eq!(r, Err(StmError::TooLarge));
    th.begin().unwrap();
    assert_eq!(th.begin(), Err(StmError::AlreadyInTransaction));
    th.rollback();
    // Errors roll the transaction back.
    let r: Result<(), _> = th.atomically(|tx| {
        tx.write(o, 0, 99)?;
        tx.read(o, 5).map(|_| ())
    });
    assert!(r.is_err());
    assert_eq!(th.atomically(|tx| tx.read(o, 0)).unwrap(), 0);
    let _t2 = rt.register_thread().unwrap();
    assert!(matches!(
        rt.register_thread(),
        Err(StmError::TooManyThreads)
    ));
    assert_eq!(th.shape_of(o), 3);
    assert_eq!(th.field_count(o), 2);
}

#[test]
fn abi_offsets_and_entry_points() {
    let rt = Runtime::new(Config::default());
    let mut th = rt.register_thread().unwrap();
    let p: *mut stm_core::StmThread = &mut *th;
    let base = p as usize;
    // SAFETY: reading descriptor words of a live StmThread at documented offsets.
    let word = |off: usize| unsafe { *((base + off) as *const u64) };
    assert_eq!(word(OFF_STATUS), STATUS_IDLE);
    assert_eq!(word(OFF_MY_LOCK), (1 << 63) | th.slot() as u64);
    th.begin().unwrap();
    assert_eq!(word(OFF_STATUS), STATUS_ACTIVE);
    assert_eq!(word(OFF_RV_ENC) & 0xfff, 0xfff);
    th.set_location(77);
    assert_eq!(word(OFF_CUR_LOC), 77);
    th.add_work(5);
    assert_eq!(word(OFF_WORK), 5);
    assert_eq!(word(OFF_BUDGET), th.budget());
    let _ = OFF_FILTER;
    // SAFETY: p is this thread's live descriptor.
    unsafe {
        let o = stm_core_alloc(p, 4, 3);
        assert!(!o.is_null());
        assert_eq!(stm_core_write_slow(p, o, 0, 41), 0);
        // Fresh object: owned, so compiled code stores directly.
        (*(o as *const AtomicU64).add(2 + 1)).store(42, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(stm_core_read_slow(p, o, 1), 42);
        assert_eq!(stm_core_read_slow(p, o, 0), 41);
        assert_eq!(stm_core_write_slow(p, o, 3, 1), STATUS_ERROR);
        stm_core_log_read(p, o);
        assert_eq!(stm_core_read_slow(p, o, 9), 0);
        assert_eq!(word(OFF_STATUS), STATUS_ERROR);
        assert_eq!(stm_core_read_slow(p, std::ptr::null(), 0), 0);
        assert_eq!(
            stm_core_write_slow(std::ptr::null_mut(), o, 0, 0),
            STATUS_ERROR
        );
        assert_eq!(stm_core_should_break(p), 0);
        assert_eq!(stm_core_become_inevitable(p), STATUS_ACTIVE); // success clears ERROR
        assert!(th.is_inevitable());
        assert_eq!(stm_core_break_transaction(p), STATUS_ACTIVE);
        assert!(!th.is_inevitable());
    }
    th.rollback();
    let _ = STATUS_ABORTED;
}

#[test]
fn should_break_adapts_to_work_and_hints() {
    let rt = Runtime::new(Config {
        initial_budget: 100,
        ..Config::default()
    });
    let mut th = rt.register_thread().unwrap();
    th.begin().unwrap();
    assert!(!th.should_break_transaction());
    th.add_work(100);
    assert!(th.should_break_transaction());
    th.break_transaction().unwrap();
    assert!(!th.should_break_transaction());
    th.hint_commit_soon();
    assert!(th.should_break_transaction());
    th.atomic_enter().unwrap();
    assert!(!th.should_break_transaction());
    th.atomic_exit().unwrap();
    th.commit().unwrap();
    let b0 = th.budget();
    // Explicit aborts do not shrink the budget; conflicts do (covered by the
    // contended tests); commits grow it.
    th.begin().unwrap();
    let _ = th.abort();
    assert_eq!(th.budget(), b0);
    th.begin().unwrap();
    th.commit().unwrap();
    assert!(th.budget() > b0);
}
