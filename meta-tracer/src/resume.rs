//! Resume: rebuilding the interpreter's red state at a guard exit.
//!
//! When a guard fails, compiled code stores the values its snapshot needs
//! into the exit buffer and returns the snapshot's index. This module turns
//! that into interpreter state: each listed slot is written back with its
//! type tag and bits, virtual objects are allocated and filled first (so
//! slots can point to them), and slots the snapshot does not mention keep
//! the value they had on entry — the recorder guarantees that every slot the
//! trace may have changed is listed. The interpreter then continues at the
//! snapshot's green location, re-executing the instruction whose guard
//! failed. Doing the reconstruction here, from data, rather than in
//! generated code keeps exits small (a few stores and a return) and puts
//! every exit through one path that tests can exercise with the IR
//! interpreter as well as with machine code.

use crate::ir::*;

/// The interpreter's red state as the JIT sees it: numbered slots, each
/// holding a language type tag and 64 bits.
///
/// # Safety
/// The JIT trusts the tags: code recorded for a slot with tag `t` is run
/// on any value whose tag is `t`, so every value with that tag must have
/// the same machine type and, for references, point to a live object with
/// the layout described by every descriptor the interpreter records for
/// such values. Implementations must also keep referenced objects alive
/// while compiled code runs (e.g. no collection during a trace).
pub unsafe trait RedFrame {
    /// The tag and bits of slot `slot`.
    fn read_slot(&self, slot: u32) -> (u8, u64);
    /// Sets slot `slot`.
    fn write_slot(&mut self, slot: u32, tag: u8, bits: u64);
    /// Allocates an object for a virtual in resume data; returns its
    /// address. Interpreters whose traces never contain virtuals (no
    /// allocation removal) can keep the default, which reports failure.
    fn allocate(&mut self, size: &SizeDescr) -> Option<usize> {
        let _ = size;
        None
    }
}

/// Why resume failed. Only a broken interpreter integration can cause it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumeError(pub String);

/// Writes the state described by `snap` (with exit values `exit`) into
/// `frame`.
pub fn restore(
    trace: &Trace,
    snap: &Snapshot,
    exit: &[u64],
    frame: &mut dyn RedFrame,
) -> Result<(), ResumeError> {
    if snap.virtuals.is_empty()
        && snap
            .slots
            .iter()
            .all(|s| matches!(s.value, ResumeValue::Op(_)))
    {
        // The common case (no allocation removal): slot operands are the
        // exit values, in order; no allocation on the exit path.
        for (s, &bits) in snap.slots.iter().zip(exit) {
            frame.write_slot(s.slot, s.tag, bits);
        }
        for s in snap.slots.iter().skip(exit.len()) {
            frame.write_slot(s.slot, s.tag, 0);
        }
        return Ok(());
    }
    let mut next = 0usize;
    let mut take = |o: Operand| -> u64 {
        let _ = o;
        let v = exit.get(next).copied().unwrap_or(0);
        next += 1;
        v
    };
    // Slot operands come first in the exit buffer, then virtual fields.
    let mut slot_bits = Vec::with_capacity(snap.slots.len());
    for s in &snap.slots {
        slot_bits.push(match s.value {
            ResumeValue::Op(o) => Some(take(o)),
            ResumeValue::Virtual(_) => None,
        });
    }
    let mut addrs = Vec::with_capacity(snap.virtuals.len());
    for v in &snap.virtuals {
        let Descr::Size(size) = trace.descr(v.size) else {
            return Err(ResumeError("virtual without a size descriptor".into()));
        };
        let addr = frame.allocate(size).ok_or_else(|| {
            ResumeError(format!("interpreter cannot allocate virtual {}", size.name))
        })?;
        addrs.push(addr);
    }
    for (v, &addr) in snap.virtuals.iter().zip(&addrs) {
        for (d, rv) in &v.fields {
            let bits = match rv {
                ResumeValue::Op(o) => take(*o),
                ResumeValue::Virtual(i) => *addrs
                    .get(*i as usize)
                    .ok_or_else(|| ResumeError("bad virtual index".into()))?
                    as u64,
            };
            let Descr::Field(f) = trace.descr(*d) else {
                return Err(ResumeError(
                    "virtual field without a field descriptor".into(),
                ));
            };
            let p = (addr as i64 + f.offset as i64) as usize;
            // SAFETY: `addr` was just allocated by the interpreter for this
            // size descriptor, and the field descriptors of the virtual
            // describe offsets inside that object (they come from the same
            // interpreter's recording).
            unsafe {
                match f.size {
                    1 => (p as *mut u8).write_unaligned(bits as u8),
                    2 => (p as *mut u16).write_unaligned(bits as u16),
                    4 => (p as *mut u32).write_unaligned(bits as u32),
                    _ => (p as *mut u64).write_unaligned(bits),
                }
            }
        }
    }
    for (s, bits) in snap.slots.iter().zip(slot_bits) {
        let bits = match (s.value, bits) {
            (_, Some(b)) => b,
            (ResumeValue::Virtual(i), None) => *addrs
                .get(i as usize)
                .ok_or_else(|| ResumeError("bad virtual index".into()))?
                as u64,
            _ => 0,
        };
        frame.write_slot(s.slot, s.tag, bits);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir_parse::parse_trace;

    #[repr(C)]
    #[derive(Default, Debug)]
    struct Point {
        class: u64,
        x: i64,
        next: usize,
    }

    struct Frame {
        slots: Vec<(u8, u64)>,
        // Boxed: allocated objects must not move when the vector grows.
        #[allow(clippy::vec_box)]
        heap: Vec<Box<Point>>,
    }

    // SAFETY: test frame; tag 9 slots hold pointers into `heap`, which
    // outlives every use.
    unsafe impl RedFrame for Frame {
        fn read_slot(&self, s: u32) -> (u8, u64) {
            self.slots[s as usize]
        }
        fn write_slot(&mut self, s: u32, tag: u8, bits: u64) {
            self.slots[s as usize] = (tag, bits);
        }
        fn allocate(&mut self, size: &SizeDescr) -> Option<usize> {
            assert_eq!(size.size as usize, std::mem::size_of::<Point>());
            let mut p = Box::new(Point::default());
            p.class = size.class as u64;
            let addr = &*p as *const Point as usize;
            self.heap.push(p);
            Some(addr)
        }
    }

    #[test]
    fn restores_slots_and_materializes_virtuals() {
        let t = parse_trace(
            "trace t
             descr d0 = size Point 24 class=7
             descr d1 = field Point.x 8 int 8
             descr d2 = field Point.next 16 ref 8
             label i0=s0:0
             i1 = int_add i0, 1
             guard_true i1 [@0 s0:0=i1 s1:9=v0 s2:0=5 v0=new(d0, d1=i0, d2=v1) v1=new(d0, d1=-3)]
             jump i1",
        )
        .unwrap();
        let snap = &t.snapshots[0];
        // Exit values: slot operands first (i1, 5), then virtual fields (i0, -3).
        let exit = [41u64, 5, 40, (-3i64) as u64];
        let mut f = Frame {
            slots: vec![(0, 0); 3],
            heap: Vec::new(),
        };
        restore(&t, snap, &exit, &mut f).unwrap();
        assert_eq!(f.slots[0], (0, 41));
        assert_eq!(f.slots[2], (0, 5));
        let (tag, addr) = f.slots[1];
        assert_eq!(tag, 9);
        // SAFETY: `addr` came from `allocate`, which keeps the box in `heap`.
        let p = unsafe { &*(addr as *const Point) };
        assert_eq!((p.class, p.x), (7, 40));
        // SAFETY: as above; the nested virtual was allocated the same way.
        let q = unsafe { &*(p.next as *const Point) };
        assert_eq!((q.class, q.x, q.next), (7, -3, 0));
    }

    #[test]
    fn restores_slots_without_virtuals() {
        let t = parse_trace(
            "trace t
             label i0=s0:0
             i1 = int_add i0, 1
             guard_true i1 [@0 s0:0=i1 s2:3=7]
             jump i1",
        )
        .unwrap();
        let mut f = Frame {
            slots: vec![(0, 0); 3],
            heap: Vec::new(),
        };
        restore(&t, &t.snapshots[0], &[41, 7], &mut f).unwrap();
        assert_eq!(f.slots, vec![(0, 41), (0, 0), (3, 7)]);
        // A short exit buffer reads as zeros, as on the general path.
        restore(&t, &t.snapshots[0], &[5], &mut f).unwrap();
        assert_eq!(f.slots, vec![(0, 5), (0, 0), (3, 0)]);
    }

    #[test]
    fn virtuals_need_an_allocator() {
        struct NoAlloc;
        // SAFETY: no slots are ever read.
        unsafe impl RedFrame for NoAlloc {
            fn read_slot(&self, _: u32) -> (u8, u64) {
                (0, 0)
            }
            fn write_slot(&mut self, _: u32, _: u8, _: u64) {}
        }
        let t = parse_trace("trace t\ndescr d0 = size P 8 class=1\nlabel i0=s0:0\nguard_true i0 [@0 s1:1=v0 v0=new(d0)]\njump i0").unwrap();
        assert!(restore(&t, &t.snapshots[0], &[], &mut NoAlloc).is_err());
    }
}
