//! Warm-up: per-location hot counters, back-off after aborts, blacklisting.
//!
//! Every can-enter-jit location (a loop header) has a counter, bumped each
//! time the interpreter passes it. When the counter reaches the threshold
//! the loop is traced. A recording that aborts sets the counter back by a
//! penalty that doubles with every abort (LuaJIT's growing back-off, without
//! its randomization: we prefer reproducible runs), and after
//! `max_aborts` aborts the location is blacklisted and never traced again,
//! so a loop that cannot be compiled costs one hash lookup per iteration
//! and nothing more.
//!
//! The counters live in a hash map keyed by the green location, with a
//! small multiplicative hash (the SipHash default costs more than the rest
//! of the lookup). Interpreters that want zero lookups can cache the state
//! in their code objects later; the driver's API would not change.

use std::hash::{BuildHasherDefault, Hasher};

/// A fast, non-cryptographic hasher for green keys (the FxHash scheme).
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.hash = (self.hash.rotate_left(5) ^ i).wrapping_mul(SEED);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64)
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// `HashMap` builder with [`FxHasher`].
pub type FxBuild = BuildHasherDefault<FxHasher>;

/// The warm-up state of one location.
#[derive(Debug, Default, Clone)]
pub(crate) struct LoopState {
    pub counter: i64,
    pub aborts: u32,
    pub blacklisted: bool,
    /// Index of the compiled trace starting here.
    pub compiled: Option<usize>,
    /// Compiled traces discarded here because they did not pay off.
    pub retraces: u32,
}

impl LoopState {
    /// Counts one pass; true when the loop just became hot.
    #[inline]
    pub fn tick(&mut self, threshold: u32) -> bool {
        self.counter += 1;
        if self.counter >= threshold as i64 {
            self.counter = 0;
            true
        } else {
            false
        }
    }

    /// Records an aborted recording; true if the location is now
    /// blacklisted.
    pub fn abort(&mut self, threshold: u32, max_aborts: u32) -> bool {
        self.aborts += 1;
        if self.aborts >= max_aborts {
            self.blacklisted = true;
        } else {
            let penalty = (threshold as i64).saturating_mul(1i64 << self.aborts.min(20));
            self.counter = -penalty;
        }
        self.blacklisted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_backoff_and_blacklist() {
        let mut s = LoopState::default();
        assert!(!(0..9).any(|_| s.tick(10)));
        assert!(s.tick(10));
        assert!(!s.abort(10, 3));
        // Back-off: 20 extra passes plus the threshold before the next try.
        assert_eq!((0..30).filter(|_| s.tick(10)).count(), 1);
        assert!(!s.abort(10, 3));
        assert!(s.abort(10, 3));
        assert!(s.blacklisted);
    }
}
