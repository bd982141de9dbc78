//! Host objects (see `stm_core::host`): interpreter-owned Rust values living
//! in the STM heap, traced precisely, finalized exactly once when dead.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use stm_core::{Config, HostMarker, HostTracer, ObjRef, Runtime, StmError, StmThread};

const NODE: u32 = 1;

/// A host value: an id, children (references to other host objects held in
/// a Rust `Vec`, i.e. outside the heap) and a drop counter.
struct Node {
    id: u64,
    children: Vec<ObjRef>,
    drops: Arc<AtomicUsize>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn new_node(th: &mut StmThread, id: u64, drops: &Arc<AtomicUsize>) -> ObjRef {
    let o = th.alloc_host(NODE, std::mem::size_of::<Node>()).unwrap();
    // SAFETY: the payload has room for a Node, is 8-byte aligned (Node's
    // alignment is 8) and uninitialised: write the value in place.
    unsafe {
        o.payload().cast::<Node>().as_ptr().write(Node {
            id,
            children: Vec::new(),
            drops: drops.clone(),
        })
    };
    o
}

fn node<'a>(o: ObjRef) -> &'a mut Node {
    // SAFETY: every NODE object holds an initialised Node until finalized,
    // and the tests only touch reachable ones.
    unsafe { &mut *o.payload().cast::<Node>().as_ptr() }
}

struct Tracer {
    roots: Vec<ObjRef>,
    weak: Vec<ObjRef>,
    traced: HashSet<u64>,
    finalized: usize,
}

impl HostTracer for Tracer {
    fn roots(&mut self, m: &mut HostMarker<'_>) {
        for &r in &self.roots {
            m.mark(r);
        }
    }
    fn trace(&mut self, obj: ObjRef, shape: u32, m: &mut HostMarker<'_>) -> usize {
        assert_eq!(shape, NODE);
        let n = node(obj);
        assert!(self.traced.insert(obj.to_bits()), "traced twice");
        for &c in &n.children {
            m.mark(c);
        }
        n.children.capacity() * 8
    }
    fn weak(&mut self, is_marked: &dyn Fn(ObjRef) -> bool) {
        self.weak.retain(|&o| is_marked(o));
    }
    fn finalize(&mut self, obj: ObjRef, shape: u32) {
        assert_eq!(shape, NODE);
        self.finalized += 1;
        // SAFETY: the collector calls finalize once for an unreachable,
        // initialised host object; it is never touched again.
        unsafe { std::ptr::drop_in_place(obj.payload().cast::<Node>().as_ptr()) };
    }
}

fn tracer(roots: Vec<ObjRef>) -> Tracer {
    Tracer {
        roots,
        weak: Vec::new(),
        traced: HashSet::new(),
        finalized: 0,
    }
}

#[test]
fn alloc_host_needs_a_transaction() {
    let rt = Runtime::new(Config::default());
    let mut th = rt.register_thread().unwrap();
    assert!(matches!(
        th.alloc_host(NODE, 8),
        Err(StmError::NotInTransaction)
    ));
    th.begin().unwrap();
    let mut t = tracer(vec![]);
    assert!(matches!(
        th.collect_with(&mut t),
        Err(StmError::AlreadyInTransaction)
    ));
    th.commit().unwrap();
}

#[test]
fn unreachable_host_objects_are_finalized_once_reachable_ones_kept() {
    let rt = Runtime::new(Config::default());
    let mut th = rt.register_thread().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    th.begin().unwrap();
    // A chain root -> a -> b, a cycle c <-> d (garbage), and 100 loose nodes.
    let root = new_node(&mut th, 0, &drops);
    let a = new_node(&mut th, 1, &drops);
    let b = new_node(&mut th, 2, &drops);
    node(root).children.push(a);
    node(a).children.push(b);
    let c = new_node(&mut th, 3, &drops);
    let d = new_node(&mut th, 4, &drops);
    node(c).children.push(d);
    node(d).children.push(c);
    for i in 0..100 {
        new_node(&mut th, 10 + i, &drops);
    }
    th.commit().unwrap();
    let mut t = tracer(vec![root]);
    t.weak = vec![b, c];
    th.collect_with(&mut t).unwrap();
    assert_eq!(t.finalized, 102, "the cycle and the loose nodes");
    assert_eq!(drops.load(Ordering::SeqCst), 102);
    assert_eq!(t.traced.len(), 3, "root, a, b traced once each");
    assert_eq!(t.weak, vec![b], "dead weak entry dropped, live one kept");
    assert_eq!((node(root).id, node(a).id, node(b).id), (0, 1, 2));
    // A second collection finalizes nothing more.
    let mut t2 = tracer(vec![root]);
    th.collect_with(&mut t2).unwrap();
    assert_eq!(t2.finalized, 0);
    // Dropping the last root finalizes the chain.
    let mut t3 = tracer(vec![]);
    th.collect_with(&mut t3).unwrap();
    assert_eq!(t3.finalized, 3);
    assert_eq!(drops.load(Ordering::SeqCst), 105);
}

#[test]
fn untraced_collections_keep_host_objects() {
    let rt = Runtime::new(Config::default());
    let mut th = rt.register_thread().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    th.begin().unwrap();
    let objs: Vec<ObjRef> = (0..50).map(|i| new_node(&mut th, i, &drops)).collect();
    th.commit().unwrap();
    rt.collect(); // no tracer: cannot see inside host objects, keeps them all
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    for (i, &o) in objs.iter().enumerate() {
        assert_eq!(node(o).id, i as u64);
    }
    let mut t = tracer(vec![]);
    th.collect_with(&mut t).unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 50);
}

#[test]
fn cells_are_reused_and_memory_stays_bounded() {
    // An interpreter-shaped loop: one long transaction, broken only to
    // collect when the allocation volume (cells plus external bytes) asks.
    let rt = Runtime::new(Config {
        gc_threshold_bytes: 256 << 10,
        ..Config::default()
    });
    let mut th = rt.register_thread().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    th.begin().unwrap();
    let keep = new_node(&mut th, 0, &drops);
    let mut collections = 0;
    let mut allocated = 1;
    for i in 0..200_000u64 {
        let n = new_node(&mut th, i, &drops);
        node(n).children.reserve(4);
        th.note_external_alloc(32);
        allocated += 1;
        if i % 1000 == 0 {
            node(keep).children.clear();
            node(keep).children.push(n);
        }
        if th.gc_pending() {
            th.commit().unwrap();
            let mut t = tracer(vec![keep]);
            th.collect_with(&mut t).unwrap();
            collections += 1;
            th.begin().unwrap();
        }
    }
    th.commit().unwrap();
    assert!(
        collections > 10,
        "collections were triggered ({collections})"
    );
    let fp = rt.heap_stats().footprint_bytes;
    assert!(
        fp < 4 << 20,
        "footprint {fp} bytes after {allocated} allocations"
    );
    // Everything but `keep` and its one child is garbage by now.
    let mut t = tracer(vec![keep]);
    th.collect_with(&mut t).unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), allocated - 2);
}

#[test]
fn payload_round_trip_and_large_host_objects() {
    let rt = Runtime::new(Config::default());
    let mut th = rt.register_thread().unwrap();
    th.begin().unwrap();
    // Larger than the largest size class: allocated on its own.
    let big = th.alloc_host(7, 4096).unwrap();
    let p = big.payload();
    // SAFETY: `from_payload` of a payload address gives back the object.
    assert_eq!(unsafe { ObjRef::from_payload(p) }, big);
    // SAFETY: 4096 writable payload bytes.
    unsafe { std::ptr::write_bytes(p.as_ptr(), 0xab, 4096) };
    assert_eq!(th.shape_of(big), 7);
    th.commit().unwrap();
    struct Keep(ObjRef, usize);
    impl HostTracer for Keep {
        fn roots(&mut self, m: &mut HostMarker<'_>) {
            m.mark(self.0);
        }
        fn trace(&mut self, o: ObjRef, _: u32, _: &mut HostMarker<'_>) -> usize {
            // SAFETY: 4096 initialised bytes.
            let last = unsafe { *o.payload().as_ptr().add(4095) };
            assert_eq!(last, 0xab);
            0
        }
        fn finalize(&mut self, _: ObjRef, _: u32) {
            self.1 += 1;
        }
    }
    let mut k = Keep(big, 0);
    th.collect_with(&mut k).unwrap();
    assert_eq!(k.1, 0);
}

#[test]
fn host_thread_and_transactional_thread_share_the_collector() {
    // Thread H: an interpreter-shaped host-object user (one long transaction,
    // traced collections when asked). Thread W: ordinary transactions on
    // rooted word objects, allocating garbage, which triggers untraced
    // automatic collections. Neither may lose a live object.
    let rt = Runtime::new(Config {
        gc_threshold_bytes: 64 << 10,
        ..Config::default()
    });
    let rt_w = rt.clone();
    let w = std::thread::spawn(move || {
        let mut th = rt_w.register_thread().unwrap();
        let counter = th.atomically(|tx| tx.alloc(9, 1)).unwrap();
        rt_w.add_root(counter);
        for _ in 0..20_000 {
            th.atomically(|tx| {
                let v = tx.read(counter, 0)?;
                let junk = tx.alloc(9, 6)?;
                tx.write(junk, 0, v)?;
                tx.write(counter, 0, v + 1)
            })
            .unwrap();
        }
        th.atomically(|tx| tx.read(counter, 0)).unwrap()
    });
    let drops = Arc::new(AtomicUsize::new(0));
    let mut th = rt.register_thread().unwrap();
    th.begin().unwrap();
    let keep = new_node(&mut th, 0, &drops);
    let mut allocated = 1;
    let mut live_ids = vec![0u64];
    for i in 1..50_000u64 {
        let n = new_node(&mut th, i, &drops);
        allocated += 1;
        if i % 64 == 0 {
            node(keep).children.push(n);
            live_ids.push(i);
        }
        if th.gc_pending() {
            th.commit().unwrap();
            th.collect_with(&mut tracer(vec![keep])).unwrap();
            th.begin().unwrap();
        }
    }
    th.commit().unwrap();
    assert_eq!(w.join().unwrap(), 20_000);
    th.collect_with(&mut tracer(vec![keep])).unwrap();
    let ids: Vec<u64> = std::iter::once(node(keep).id)
        .chain(node(keep).children.iter().map(|&c| node(c).id))
        .collect();
    assert_eq!(ids, live_ids);
    assert_eq!(drops.load(Ordering::SeqCst), allocated - live_ids.len());
}
