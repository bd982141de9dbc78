//! Tests for `number.rs`; expected values recorded from lua5.4
//! (`tonumber`, `math.tointeger`, `math.floor`, `math.ceil`).
use super::*;

fn render(n: Option<Number>) -> String {
    match n {
        None => "nil".into(),
        Some(Number::Int(i)) => format!("int {i}"),
        Some(Number::Float(f)) => format!("flt {f:e}"),
    }
}

#[test]
fn tonumber_cases() {
    let cases: &[(&[u8], &str)] = &[
        (b"0", "int 0"),
        (b"1", "int 1"),
        (b"-1", "int -1"),
        (b"+1", "int 1"),
        (b" 12 ", "int 12"),
        (b"\x0912\x0a", "int 12"),
        (b"1e2", "flt 100"),
        (b"1E+2", "flt 100"),
        (b"1e-2", "flt 0.01"),
        (b".5", "flt 0.5"),
        (b"5.", "flt 5"),
        (b"-.5", "flt -0.5"),
        (b"0x10", "int 16"),
        (b"0X1f", "int 31"),
        (b"-0x10", "int -16"),
        (b"0xffffffffffffffff", "int -1"),
        (b"0x7fffffffffffffff", "int 9223372036854775807"),
        (b"0x8000000000000000", "int -9223372036854775808"),
        (b"0x10000000000000000", "int 0"),
        (b"0x1p4", "flt 16"),
        (b"0x1P-4", "flt 0.0625"),
        (b"0x.8", "flt 0.5"),
        (b"0x8.", "flt 8"),
        (b"0xA.8p1", "flt 21"),
        (b"0x", "nil"),
        (b"0x.", "nil"),
        (b"0xp1", "nil"),
        (b"0x1p", "nil"),
        (b"0x1p+", "nil"),
        (b"1e", "nil"),
        (b"e1", "nil"),
        (b".", "nil"),
        (b"-", "nil"),
        (b"9223372036854775807", "int 9223372036854775807"),
        (b"9223372036854775808", "flt 9.2233720368547758e+18"),
        (b"-9223372036854775808", "int -9223372036854775808"),
        (b"-9223372036854775809", "flt -9.2233720368547758e+18"),
        (b"18446744073709551616", "flt 1.8446744073709552e+19"),
        (b"1000000000000000000000000000000", "flt 1e+30"),
        (b"inf", "nil"),
        (b"nan", "nil"),
        (b"-inf", "nil"),
        (b"1e400", "flt inf"),
        (b"-1e400", "flt -inf"),
        (b"1e-400", "flt 0"),
        (b"4.9e-324", "flt 4.9406564584124654e-324"),
        (b"2.4703282292062328e-324", "flt 4.9406564584124654e-324"),
        (b"2.4703282292062327e-324", "flt 0"),
        (b"0x1p-1074", "flt 4.9406564584124654e-324"),
        (b"0x1p-1075", "flt 0"),
        (b"0x1.8p-1075", "flt 4.9406564584124654e-324"),
        (b"0x1p1023", "flt 8.9884656743115795e+307"),
        (b"0x1p1024", "flt inf"),
        (b"0x1.fffffffffffffp1023", "flt 1.7976931348623157e+308"),
        (b"0x1.fffffffffffff8p1023", "flt inf"),
        (b"0x123456789abcdef0123", "int 5001117282205630755"),
        (b"0x.123456789abcdef0123p10", "flt 72.817777777777778"),
        (b"0x1.00000000000008p0", "flt 1"),
        (b"0x1.00000000000008000001p0", "flt 1.0000000000000002"),
        (b"0x1.00000000000018p0", "flt 1.0000000000000004"),
        (b"1 2", "nil"),
        (b"1x", "nil"),
        (b"0x1g", "nil"),
        (b"12abc", "nil"),
        (b"  ", "nil"),
        (b"", "nil"),
        (b"0.1", "flt 0.10000000000000001"),
        (
            b"123456789012345678901234567890",
            "flt 1.2345678901234568e+29",
        ),
        (b"3.14159265358979323846", "flt 3.1415926535897931"),
        (b"1e+", "nil"),
        (b"1.5e3 ", "flt 1500"),
        (b"0b101", "nil"),
        (b"1_000", "nil"),
        (b"00012", "int 12"),
        (b"-0", "int 0"),
        (b"-0.0", "flt -0"),
        (b"0x-1", "nil"),
        (b" - 1", "nil"),
        (b"--1", "nil"),
        (b"+-1", "nil"),
        (b"1..2", "nil"),
    ];
    for (s, want) in cases {
        let got = str_to_number(s);
        let want_r = if let Some(f) = want.strip_prefix("flt ") {
            render(Some(Number::Float(f.parse::<f64>().unwrap())))
        } else {
            want.to_string()
        };
        assert_eq!(
            render(got),
            want_r,
            "input {:?}",
            String::from_utf8_lossy(s)
        );
        if let Some(Number::Float(f)) = got {
            let w: f64 = want.strip_prefix("flt ").unwrap().parse().unwrap();
            assert_eq!(
                f.to_bits(),
                w.to_bits(),
                "bits for {:?}",
                String::from_utf8_lossy(s)
            );
        }
    }
}

#[test]
fn tonumber_base_cases() {
    let cases: &[(&[u8], u32, &str)] = &[
        (b"10", 2, "2"),
        (b"10", 8, "8"),
        (b"10", 10, "10"),
        (b"10", 16, "16"),
        (b"10", 36, "36"),
        (b"ff", 2, "nil"),
        (b"ff", 8, "nil"),
        (b"ff", 10, "nil"),
        (b"ff", 16, "255"),
        (b"ff", 36, "555"),
        (b"FF", 2, "nil"),
        (b"FF", 8, "nil"),
        (b"FF", 10, "nil"),
        (b"FF", 16, "255"),
        (b"FF", 36, "555"),
        (b"zz", 2, "nil"),
        (b"zz", 8, "nil"),
        (b"zz", 10, "nil"),
        (b"zz", 16, "nil"),
        (b"zz", 36, "1295"),
        (b"  -101  ", 2, "-5"),
        (b"  -101  ", 8, "-65"),
        (b"  -101  ", 10, "-101"),
        (b"  -101  ", 16, "-257"),
        (b"  -101  ", 36, "-1297"),
        (b"1 0", 2, "nil"),
        (b"1 0", 8, "nil"),
        (b"1 0", 10, "nil"),
        (b"1 0", 16, "nil"),
        (b"1 0", 36, "nil"),
        (b"", 2, "nil"),
        (b"", 8, "nil"),
        (b"", 10, "nil"),
        (b"", 16, "nil"),
        (b"", 36, "nil"),
        (b"-", 2, "nil"),
        (b"-", 8, "nil"),
        (b"-", 10, "nil"),
        (b"-", 16, "nil"),
        (b"-", 36, "nil"),
        (b"8", 2, "nil"),
        (b"8", 8, "nil"),
        (b"8", 10, "8"),
        (b"8", 16, "8"),
        (b"8", 36, "8"),
        (b"7fffffffffffffff", 2, "nil"),
        (b"7fffffffffffffff", 8, "nil"),
        (b"7fffffffffffffff", 10, "nil"),
        (b"7fffffffffffffff", 16, "9223372036854775807"),
        (b"7fffffffffffffff", 36, "5118989593264109275"),
        (b"ffffffffffffffff", 2, "nil"),
        (b"ffffffffffffffff", 8, "nil"),
        (b"ffffffffffffffff", 10, "nil"),
        (b"ffffffffffffffff", 16, "-1"),
        (b"ffffffffffffffff", 36, "-3558055516843428133"),
        (b"10000000000000000", 2, "65536"),
        (b"10000000000000000", 8, "281474976710656"),
        (b"10000000000000000", 10, "10000000000000000"),
        (b"10000000000000000", 16, "0"),
        (b"10000000000000000", 36, "-2153214848064815104"),
        (b"  z\x09", 2, "nil"),
        (b"  z\x09", 8, "nil"),
        (b"  z\x09", 10, "nil"),
        (b"  z\x09", 16, "nil"),
        (b"  z\x09", 36, "35"),
    ];
    for (s, b, want) in cases {
        let got = str_to_int_base(s, *b).map_or("nil".to_string(), |v| v.to_string());
        assert_eq!(
            &got,
            want,
            "input {:?} base {b}",
            String::from_utf8_lossy(s)
        );
    }
    assert_eq!(str_to_int_base(b"1", 1), None);
    assert_eq!(str_to_int_base(b"1", 37), None);
}

#[test]
fn float_to_int_cases() {
    // (value, math.tointeger, math.floor as integer, math.ceil as integer)
    let n = None;
    type Case = (f64, Option<i64>, Option<i64>, Option<i64>);
    let cases: &[Case] = &[
        (0.0, Some(0), Some(0), Some(0)),
        (-0.0, Some(0), Some(0), Some(0)),
        (1.5, n, Some(1), Some(2)),
        (-1.5, n, Some(-2), Some(-1)),
        (2.0, Some(2), Some(2), Some(2)),
        (-2.5, n, Some(-3), Some(-2)),
        (1e300, n, n, n),
        (-1e300, n, n, n),
        (9223372036854775808.0, n, n, n),
        (
            -9223372036854775808.0,
            Some(i64::MIN),
            Some(i64::MIN),
            Some(i64::MIN),
        ),
        (
            9223372036854774784.0,
            Some(9223372036854774784),
            Some(9223372036854774784),
            Some(9223372036854774784),
        ),
        (f64::INFINITY, n, n, n),
        (f64::NEG_INFINITY, n, n, n),
        (f64::NAN, n, n, n),
        (0.5, n, Some(0), Some(1)),
        (-0.5, n, Some(-1), Some(0)),
        (3.99, n, Some(3), Some(4)),
        (-3.01, n, Some(-4), Some(-3)),
    ];
    for &(f, e, fl, ce) in cases {
        assert_eq!(float_to_int(f, F2I::Exact), e, "exact {f}");
        assert_eq!(float_to_int(f, F2I::Floor), fl, "floor {f}");
        assert_eq!(float_to_int(f, F2I::Ceil), ce, "ceil {f}");
    }
    assert_eq!(
        number_to_int(Number::Float(1.5)),
        Err("number has no integer representation")
    );
    assert_eq!(number_to_int(Number::Float(3.0)), Ok(3));
}

#[test]
fn fuzz_no_panics() {
    let alphabet = b"0123456789abcdefxXpP+-. \t\neEn";
    let mut st = 99u64;
    for _ in 0..50_000 {
        st = st
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = ((st >> 33) % 24) as usize;
        let s: Vec<u8> = (0..len)
            .map(|i| {
                let x = st.rotate_left(i as u32 * 7) >> 40;
                alphabet[(x as usize) % alphabet.len()]
            })
            .collect();
        let _ = str_to_number(&s);
        let _ = str_to_int_base(&s, 2 + (st % 35) as u32);
    }
}
