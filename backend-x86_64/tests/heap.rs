//! Heap operations on real `#[repr(C)]` Rust objects: fields of every width
//! (zero-extending loads, truncating stores), inline and indirect arrays,
//! `arraylen`, `guard_class`, and reference constants.
mod common;
use common::*;

#[repr(C)]
#[derive(Clone, Debug, PartialEq)]
struct Obj {
    class: u32,      // 0
    flags: u8,       // 4
    pad: u8,         // 5
    small: u16,      // 6
    count: i64,      // 8
    x: f64,          // 16
    next: *mut Obj,  // 24
    len: i64,        // 32
    items: [i64; 8], // 40
}

impl Obj {
    fn new(class: u32) -> Obj {
        Obj {
            class,
            flags: 0xa5,
            pad: 0x11,
            small: 0xfffe,
            count: 1000,
            x: -1.25,
            next: std::ptr::null_mut(),
            len: 8,
            items: [10, -20, 30, i64::MIN, i64::MAX, 60, 70, 80],
        }
    }
}

const OBJ_DESCRS: &str = "\
descr d0 = field Obj.class 0 int 4
descr d1 = field Obj.flags 4 int 1
descr d2 = field Obj.small 6 int 2
descr d3 = field Obj.count 8 int 8
descr d4 = field Obj.x 16 float 8
descr d5 = field Obj.next 24 ref 8
descr d6 = array Obj.items len=32 items=40 int 8
";

#[test]
fn fields_of_every_width() {
    let text = format!(
        "trace fields
{OBJ_DESCRS}label r0=s0:0, i1=s1:0, i2=s2:0
i3 = getfield r0, d0
i4 = getfield r0, d1
i5 = getfield r0, d2
i6 = getfield r0, d3
f7 = getfield r0, d4
r8 = getfield r0, d5
i9 = arraylen r0, d6
i10 = getarrayitem r0, i1, d6
setfield r0, i2, d1
setfield r0, i2, d2
setfield r0, i2, d0
i11 = int_add i6, i10
setfield r0, i11, d3
f12 = float_mul f7, -2.0
setfield r0, f12, d4
setfield r0, r0, d5
setarrayitem r0, 7, i11, d6
setarrayitem r0, i1, i2, d6
i13 = getfield r0, d1
i14 = getfield r0, d0
guard_true 0 [@0 s0:0=i3 s1:0=i4 s2:0=i5 s3:0=i6 s4:0=f7 s5:0=r8 s6:0=i9 s7:0=i10 s8:0=i13 s9:0=i14]
jump r0, i1, i2
"
    );
    let p = Pair::new(&text);
    let mut obj = Box::new(Obj::new(0xffff_fff7));
    let addr = &mut *obj as *mut Obj as u64;
    for (idx, val) in [
        (0u64, 0x1_2345_6789_abcdu64),
        (3, -1i64 as u64),
        (5, 0x1ff),
        (7, 0),
    ] {
        let obj_ptr = addr as *mut Obj;
        let (o, after) = p.check_heap(
            &[addr, idx, val],
            // SAFETY: `obj_ptr` points to the live boxed `Obj`; no other
            // reference is used while the closures run.
            || unsafe { *obj_ptr = Obj::new(0xffff_fff7) },
            || unsafe { (*obj_ptr).clone() },
        );
        // Sub-word loads zero-extend.
        assert_eq!(o.buf[0], 0xffff_fff7);
        assert_eq!(o.buf[1], 0xa5);
        assert_eq!(o.buf[2], 0xfffe);
        // Sub-word stores truncate and leave neighbours alone.
        assert_eq!(after.flags, val as u8);
        assert_eq!(after.pad, 0x11);
        assert_eq!(after.small, val as u16);
        assert_eq!(after.class, val as u32);
        assert_eq!(after.next as u64, addr);
        assert_eq!(o.buf[8], val as u8 as u64);
    }
    drop(obj);
}

#[test]
fn guard_class_walks_a_linked_list() {
    let text = format!(
        "trace walk
{OBJ_DESCRS}label r0=s0:0, i1=s1:0
guard_nonnull r0 [@0 s0:0=i1]
guard_class r0, 7, d0 [@1 s0:0=r0 s1:0=i1]
r2 = getfield r0, d5
i3 = int_add i1, 1
jump r2, i3
"
    );
    let p = Pair::new(&text);
    let mut nodes: Vec<Box<Obj>> = (0..6)
        .map(|i| Box::new(Obj::new(if i == 4 { 9 } else { 7 })))
        .collect();
    for i in 0..5 {
        let next = &mut *nodes[i + 1] as *mut Obj;
        nodes[i].next = next;
    }
    let head = &mut *nodes[0] as *mut Obj as u64;
    let o = p.check(&[head, 0]);
    assert_eq!(
        (o.exit, o.buf[0], o.buf[1]),
        (1, &*nodes[4] as *const Obj as u64, 4)
    );
    assert_eq!(o.iterations, 4);
    // All of class 7: runs off the end of the list.
    nodes[4].class = 7;
    let o = p.check(&[head, 0]);
    assert_eq!((o.exit, o.buf[0]), (0, 6));
    // The class field is zero-extended before the comparison.
    nodes[0].class = 0xffff_ffff;
    let t = format!("trace c\n{OBJ_DESCRS}label r0=s0:0\nguard_class r0, 0xffffffff, d0 [@0 s0:0=r0]\nguard_class r0, -1, d0 [@1 s0:0=r0]\nguard_true 0 [@2]\njump r0\n");
    assert_eq!(check(&t, &[head]).exit, 1);
    // A one-byte class field.
    let t = format!("trace c\n{OBJ_DESCRS}descr d7 = field Obj.flags 4 int 1\nlabel r0=s0:0\nguard_class r0, 0xa5, d7 [@0 s0:0=r0]\nguard_true 0 [@1]\njump r0\n");
    assert_eq!(check(&t, &[head]).exit, 1);
}

#[repr(C)]
struct FloatVec {
    len: i64,
    items: *mut f64,
}

#[test]
fn indirect_float_array_prefix_sums() {
    let text = "trace prefix
descr d0 = array FloatVec.items len=0 items=8* float 8
label r0=s0:0, i1=s1:0, f2=s2:0
i3 = arraylen r0, d0
i4 = int_lt i1, i3
guard_true i4 [@0 s0:0=i1 s1:0=f2]
f5 = getarrayitem r0, i1, d0
f6 = float_add f2, f5
setarrayitem r0, i1, f6, d0
i7 = int_add i1, 1
jump r0, i7, f6
";
    let p = Pair::new(text);
    let init = [
        1.0,
        0.5,
        -0.0,
        1e300,
        1e300,
        f64::NEG_INFINITY,
        3.0,
        4.0,
        f64::NAN,
        2.0,
    ];
    let mut items = init.to_vec();
    let items_ptr = items.as_mut_ptr();
    let v = Box::new(FloatVec {
        len: items.len() as i64,
        items: items_ptr,
    });
    let vaddr = &*v as *const FloatVec as u64;
    let (o, after) = p.check_heap(
        &[vaddr, 0, fbits(0.0)],
        // SAFETY: `items_ptr` points to the live vector of `init.len()` floats.
        || unsafe { std::ptr::copy_nonoverlapping(init.as_ptr(), items_ptr, init.len()) },
        || unsafe {
            std::slice::from_raw_parts(items_ptr, init.len())
                .iter()
                .map(|f| f.to_bits())
                .collect::<Vec<_>>()
        },
    );
    assert_eq!(o.exit, 0);
    assert_eq!(o.buf[0], 10);
    assert_eq!(o.iterations, 10);
    assert_eq!(f64::from_bits(after[3]), 1e300 + 1.5);
    drop(v);
    drop(items);
}

#[repr(C)]
struct Bytes {
    len: i64,
    data: [u8; 16],
    words: [u32; 4],
}

#[test]
fn sub_word_array_items() {
    let text = "trace bytes
descr d0 = array Bytes.data len=0 items=8 int 1
descr d1 = array Bytes.words len=0 items=24 int 4
label r0=s0:0, i1=s1:0, i2=s2:0
i3 = getarrayitem r0, i1, d0
i4 = int_add i3, i2
setarrayitem r0, i1, i4, d0
i5 = int_and i1, 3
i6 = getarrayitem r0, i5, d1
i7 = int_sub i6, i2
setarrayitem r0, i5, i7, d1
i8 = int_add i1, 1
i9 = int_lt i8, 16
guard_true i9 [@0 s0:0=i3 s1:0=i6 s2:0=i8]
jump r0, i8, i2
";
    let p = Pair::new(text);
    let mut b = Box::new(Bytes {
        len: 16,
        data: [0; 16],
        words: [0; 4],
    });
    let bp = &mut *b as *mut Bytes;
    for delta in [1u64, 0xff, 0x1234_5678_9abc, -3i64 as u64] {
        let (o, _) = p.check_heap(
            &[bp as u64, 0, delta],
            // SAFETY: `bp` points to the live boxed `Bytes`.
            || unsafe {
                (*bp).data = std::array::from_fn(|i| (i * 17) as u8);
                (*bp).words = [0, 1, u32::MAX, 0x8000_0000];
            },
            // SAFETY: as for the reset closure above.
            || unsafe { ((*bp).data, (*bp).words) },
        );
        assert_eq!(o.iterations, 15);
    }
}

static mut STATIC_OBJ: [i64; 4] = [5, 6, 7, 8];

#[test]
fn reference_constants() {
    let addr = std::ptr::addr_of_mut!(STATIC_OBJ) as usize;
    let text = format!(
        "trace consts
descr d0 = field Static.second 8 int 8
descr d1 = array Static.items len=0 items=8 int 8
label i0=s0:0
i1 = getfield ref:{addr:#x}, d0
i2 = getarrayitem ref:{addr:#x}, 2, d1
setfield ref:{addr:#x}, i0, d0
i3 = arraylen ref:{addr:#x}, d1
guard_true 0 [@0 s0:0=i1 s1:0=i2 s2:0=i3 s3:0=ref:{addr:#x}]
jump i0
"
    );
    let p = Pair::new(&text);
    let (o, _) = p.check_heap(
        &[42],
        // SAFETY: single-threaded access to the static through raw pointers.
        || unsafe { *std::ptr::addr_of_mut!(STATIC_OBJ) = [5, 6, 7, 8] },
        || unsafe { *std::ptr::addr_of!(STATIC_OBJ) },
    );
    assert_eq!(o.buf, vec![6, 8, 5, addr as u64]);
}

#[test]
fn narrow_fields_of_float_and_ref_type_move_bits() {
    // The IR moves bits: a 4-byte "float" field is its 32 bits zero-extended
    // into a 64-bit pattern (exactly as the IR interpreter does), and a
    // float stored into it keeps its low 32 bits.
    let text = "trace narrow
descr d0 = field W.lo 0 float 4
descr d1 = field W.hi 4 ref 4
descr d2 = field W.whole 0 int 8
label r0=s0:0, f1=s1:0
f2 = getfield r0, d0
r3 = getfield r0, d1
setfield r0, f1, d0
i4 = getfield r0, d2
guard_true 0 [@0 s0:0=f2 s1:0=r3 s2:0=i4]
jump r0, f1
";
    let p = Pair::new(text);
    let mut cell = Box::new(0u64);
    let cp = &mut *cell as *mut u64;
    let (o, after) = p.check_heap(
        &[cp as u64, 1.5f64.to_bits() | 0x1234],
        // SAFETY: `cp` points to the live boxed word.
        || unsafe { *cp = 0x8765_4321_dead_beef },
        || unsafe { *cp },
    );
    assert_eq!(o.buf[0], 0xdead_beef);
    assert_eq!(o.buf[1], 0x8765_4321);
    assert_eq!(after, 0x8765_4321_0000_1234);
}

#[test]
fn constant_array_indices() {
    // Constant indices fold into the address offset (also negative ones and
    // ones too large to fold, which take the general path).
    let mut items: Vec<i64> = (0..64).map(|i| i * 11).collect();
    let ip = items.as_mut_ptr();
    let holder = Box::new(FloatVec {
        len: 64,
        items: ip as *mut f64,
    });
    let hp = &*holder as *const FloatVec as u64;
    let mid = ip.wrapping_add(32) as u64;
    let text = "trace k
descr d0 = array V.items len=0 items=8* int 8
descr d1 = array Raw len=0 items=0 int 8
descr d2 = array Raw8 len=0 items=0 int 1
label r0=s0:0, r1=s1:0
i2 = getarrayitem r0, 0, d0
i3 = getarrayitem r0, 63, d0
setarrayitem r0, 5, i3, d0
i4 = getarrayitem r1, -3, d1
i5 = getarrayitem r1, 31, d1
i6 = getarrayitem r1, 9, d2
setarrayitem r1, -32, 77, d1
guard_true 0 [@0 s0:0=i2 s1:0=i3 s2:0=i4 s3:0=i5 s4:0=i6]
jump r0, r1
";
    let p = Pair::new(text);
    let (o, after) = p.check_heap(
        &[hp, mid],
        // SAFETY: `ip` points to the live vector of 64 words.
        || unsafe {
            std::ptr::copy_nonoverlapping(
                (0..64i64).map(|i| i * 11).collect::<Vec<_>>().as_ptr(),
                ip,
                64,
            )
        },
        // SAFETY: as for the reset closure above.
        || unsafe { std::slice::from_raw_parts(ip, 64).to_vec() },
    );
    // Byte 9 from item 32 is the second byte of item 33 (363 = 0x16b).
    assert_eq!(o.buf, vec![0, 63 * 11, 29 * 11, 63 * 11, 1]);
    assert_eq!((after[5], after[0]), (63 * 11, 77));
    // An index whose byte offset does not fit in 32 bits is not folded.
    let t = parse("trace big\ndescr d0 = array Raw len=0 items=0 int 8\nlabel r0=s0:0\ni1 = getarrayitem r0, 0x40000000, d0\nguard_true 0 [@0 s0:0=i1]\njump r0\n");
    let c = native(&t, false);
    assert!(c.code_size() > 0);
    drop(holder);
    drop(items);
}
