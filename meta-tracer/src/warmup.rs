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
//! The fast path must cost almost nothing, since it runs at every loop
//! back-edge of every cold loop. As in LuaJIT, counting uses a small table
//! of counters indexed by a hash of the green key ([`HotCounters`]):
//! locations that collide share a counter, which only makes them hot a
//! little early. Only when a counter runs out, or when the slot is marked
//! *exact* because a compiled or blacklisted location hashes there, does the
//! driver look the location up in a hash map of per-location state
//! ([`LoopState`]: aborts, back-off, blacklist, installed trace). Measured
//! on the flowgraph power loop (callgrind): the map lookup at every
//! back-edge cost about 80 instructions per iteration; the counter table
//! costs under 10.

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

/// Number of shared hot counters (a power of two).
pub const HOT_SLOTS: usize = 1024;

/// The hot-counter slot of a green key.
#[inline]
pub fn hot_slot<G: std::hash::Hash>(g: &G) -> usize {
    let mut h = FxHasher::default();
    g.hash(&mut h);
    (h.finish() >> 32) as usize & (HOT_SLOTS - 1)
}

/// What the fast path does for a slot.
const COUNTING: u8 = 0;
/// A compiled location hashes here: always take the slow path.
const EXACT: u8 = 1;
/// A blacklisted location hashes here: never leave the fast path.
const DEAD: u8 = 2;

/// Shared, hash-indexed hot counters (the fast path of warm-up).
///
/// A slot is *exact* when a compiled location hashes to it (every pass
/// must look the location up, to enter its code), and *dead* when a
/// blacklisted location does (nothing is ever looked up: a blacklisted loop
/// costs one load and a branch per iteration). A dead slot also silences the
/// rare other location that collides with it; an exact slot wins over a
/// dead one.
pub(crate) struct HotCounters {
    counters: Box<[u32; HOT_SLOTS]>,
    mode: Box<[u8; HOT_SLOTS]>,
    /// Compiled locations per slot (the slot is exact while non-zero).
    compiled: Box<[u16; HOT_SLOTS]>,
}

impl HotCounters {
    pub fn new(threshold: u32) -> HotCounters {
        HotCounters {
            counters: Box::new([threshold.max(1); HOT_SLOTS]),
            mode: Box::new([COUNTING; HOT_SLOTS]),
            compiled: Box::new([0; HOT_SLOTS]),
        }
    }
    /// Counts one pass; true if nothing else needs to happen (the
    /// interpreter just continues).
    #[inline]
    pub fn count_down(&mut self, slot: usize) -> bool {
        match self.mode[slot] {
            COUNTING => {
                let c = &mut self.counters[slot];
                if *c > 1 {
                    *c -= 1;
                    true
                } else {
                    false
                }
            }
            EXACT => false,
            _ => true,
        }
    }
    pub fn reset(&mut self, slot: usize, threshold: u32) {
        self.counters[slot] = threshold.max(1);
    }
    pub fn is_exact(&self, slot: usize) -> bool {
        self.mode[slot] == EXACT
    }
    /// A location hashing to `slot` got a compiled trace.
    pub fn make_exact(&mut self, slot: usize) {
        self.compiled[slot] = self.compiled[slot].saturating_add(1);
        self.mode[slot] = EXACT;
    }
    /// A compiled trace of a location hashing to `slot` was discarded.
    pub fn release_exact(&mut self, slot: usize) {
        self.compiled[slot] = self.compiled[slot].saturating_sub(1);
        if self.compiled[slot] == 0 && self.mode[slot] == EXACT {
            self.mode[slot] = COUNTING;
        }
    }
    /// A location hashing to `slot` was blacklisted.
    pub fn make_dead(&mut self, slot: usize) {
        if self.compiled[slot] == 0 {
            self.mode[slot] = DEAD;
        }
    }
}

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

    /// The shared counter of this location's slot ran out (about
    /// `threshold` passes); true if the location should be traced now,
    /// false while it is backing off after aborts.
    pub fn trip(&mut self, threshold: u32) -> bool {
        if self.counter < 0 {
            self.counter = self.counter.saturating_add(threshold as i64).min(0);
            false
        } else {
            self.counter = 0;
            true
        }
    }

    /// Makes the next pass hot (counted exactly or on a trip), with no
    /// back-off: after a recording that sampled the loop's last iteration.
    pub fn retry_at_next_pass(&mut self, threshold: u32) {
        self.counter = i64::from(threshold.max(1) - 1);
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
    fn shared_counters_trip_and_back_off() {
        let mut h = HotCounters::new(10);
        let s = hot_slot(&42u32);
        assert_eq!((0..9).filter(|_| h.count_down(s)).count(), 9);
        assert!(!h.count_down(s));
        let mut st = LoopState::default();
        assert!(st.trip(10));
        st.abort(10, 5); // back off by 2 * threshold: two more trips
        assert!(!st.trip(10));
        assert!(!st.trip(10));
        assert!(st.trip(10));
        h.make_dead(s);
        assert!((0..100).all(|_| h.count_down(s)));
        h.make_exact(s);
        assert!(!h.count_down(s));
    }

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
