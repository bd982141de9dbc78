//! Tests for `format.rs`.  `testdata/format.tsv` holds lua5.4 results for
//! thousands of format specifications and arguments: format string,
//! encoded arguments (`i:` integer, `f:` float bits in hex, `s:` string,
//! `n` nil, `b:` boolean, `t` table), and `OK result` or `ERR message`.
use super::*;

fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            out.push(u8::from_str_radix(&s[i + 2..i + 4], 16).unwrap());
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[derive(Debug, Clone)]
enum V {
    I(i64),
    F(f64),
    S(Vec<u8>),
    N,
    B(bool),
    T,
}

struct Args(Vec<V>);

impl FormatArgs for Args {
    type Error = String;
    fn top(&self) -> usize {
        self.0.len() + 1
    }
    fn arg(&self, n: usize) -> FmtArg<'_> {
        match &self.0[n - 2] {
            V::I(i) => FmtArg::Int(*i),
            V::F(f) => FmtArg::Float(*f),
            V::S(s) => FmtArg::Str(s),
            V::N => FmtArg::Nil,
            V::B(b) => FmtArg::Bool(*b),
            V::T => FmtArg::Other("table"),
        }
    }
    fn tostring(&mut self, n: usize) -> Result<Vec<u8>, String> {
        Ok(match &self.0[n - 2] {
            V::I(i) => int_to_string(*i).into_bytes(),
            V::F(f) => float_to_string(*f).into_bytes(),
            V::S(s) => s.clone(),
            V::N => b"nil".to_vec(),
            V::B(b) => b.to_string().into_bytes(),
            V::T => b"table: 0x1234".to_vec(),
        })
    }
}

fn decode_args(s: &str) -> Vec<V> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(',')
        .map(
            |a| match a.split_at(a.find(':').map_or(a.len(), |p| p + 1)) {
                ("i:", v) => V::I(v.parse().unwrap()),
                ("f:", v) => V::F(f64::from_bits(u64::from_str_radix(v, 16).unwrap())),
                ("s:", v) => V::S(unescape(v)),
                ("b:", v) => V::B(v == "true"),
                ("n", _) => V::N,
                ("t", _) => V::T,
                other => panic!("bad arg {other:?}"),
            },
        )
        .collect()
}

#[test]
fn lua_oracle_cases() {
    let data = include_str!("testdata/format.tsv");
    let mut failures = Vec::new();
    let mut n = 0;
    for line in data.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 3, "bad line {line:?}");
        let fmt = unescape(f[0]);
        let mut args = Args(decode_args(f[1]));
        let got = match format(&fmt, &mut args) {
            Ok(s) => format!("OK {}", String::from_utf8_lossy(&s)),
            Err(e) => format!("ERR {}", e.message("string.format").unwrap()),
        };
        let want = String::from_utf8_lossy(&unescape(f[2])).into_owned();
        n += 1;
        if got != want {
            failures.push(format!("{:?} {:?}: got {got:?} want {want:?}", f[0], f[1]));
        }
    }
    assert!(n > 5000);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}

#[test]
fn tostring_numbers() {
    // Expected strings from lua5.4's print/tostring.
    let cases: &[(f64, &str)] = &[
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (0.1, "0.1"),
        (1.0 / 3.0, "0.33333333333333"),
        (1e15, "1e+15"),
        (1e14, "1e+14"),
        (123456789012345.0, "1.2345678901234e+14"),
        (12345678901234.0, "12345678901234.0"),
        (2f64.powi(63), "9.2233720368548e+18"),
        (1e100, "1e+100"),
        (-1.5, "-1.5"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "nan"),
        (-f64::NAN, "-nan"),
        (5e-324, "4.9406564584125e-324"),
        (100.0, "100.0"),
        (1.234_567_890_123_456_7, "1.2345678901235"),
    ];
    for &(f, want) in cases {
        assert_eq!(float_to_string(f), want, "{f:e}");
    }
    assert_eq!(
        number_to_string(Number::Int(i64::MIN)),
        "-9223372036854775808"
    );
    assert_eq!(number_to_string(Number::Float(2.5)), "2.5");
}

#[test]
fn quoting() {
    let mut out = Vec::new();
    quote_string(b"a\"b\\c\nd\re\x001\x7f\xff", &mut out);
    assert_eq!(out, b"\"a\\\"b\\\\c\\\nd\\13e\\0001\\127\xff\"".to_vec());
    assert_eq!(quote_int(i64::MIN), "0x8000000000000000");
    assert_eq!(quote_float(0.1), "0x1.999999999999ap-4");
    assert_eq!(quote_float(-f64::NAN), "(0/0)");
}

#[test]
fn vm_errors_propagate() {
    struct Failing;
    impl FormatArgs for Failing {
        type Error = &'static str;
        fn top(&self) -> usize {
            2
        }
        fn arg(&self, _: usize) -> FmtArg<'_> {
            FmtArg::Other("table")
        }
        fn tostring(&mut self, _: usize) -> Result<Vec<u8>, &'static str> {
            Err("__tostring failed")
        }
    }
    assert_eq!(
        format(b"%s", &mut Failing),
        Err(FormatError::Vm("__tostring failed"))
    );
    assert_eq!(
        format(b"%d", &mut Failing)
            .unwrap_err()
            .message("format")
            .unwrap(),
        "bad argument #2 to 'format' (number expected, got table)"
    );
}

#[test]
fn fuzz_no_panics() {
    let alphabet = b"%-+ #0123456789.diuoxXcsqaAeEfFgGp%lhz";
    let mut st = 3u64;
    let mut next = || {
        st = st
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (st >> 33) as usize
    };
    for _ in 0..30_000 {
        let len = next() % 10;
        let fmt: Vec<u8> = (0..len)
            .map(|_| alphabet[next() % alphabet.len()])
            .collect();
        let vals = [
            V::I(-7),
            V::F(-1e300),
            V::F(f64::NAN),
            V::S(b"1e2".to_vec()),
            V::N,
            V::T,
            V::F(5e-324),
        ];
        let args: Vec<V> = (0..next() % 4)
            .map(|_| vals[next() % vals.len()].clone())
            .collect();
        let _ = format(&fmt, &mut Args(args));
    }
    for p in 0..120 {
        for &x in &[0.0, 5e-324, 1.7976931348623157e308, 0.1, -2.5, f64::NAN] {
            for conv in *b"eEfgGaA" {
                let spec = Spec {
                    precision: Some(p),
                    width: p,
                    ..Spec::default()
                };
                let _ = printf_float(&spec, x, conv);
            }
        }
    }
}

#[test]
fn missing_arguments_and_strings() {
    // lua5.4: string.format("%d") -> bad argument #2 to 'format' (no value)
    let e = format(b"%d", &mut Args(vec![])).unwrap_err();
    assert_eq!(
        e.message("format").unwrap(),
        "bad argument #2 to 'format' (no value)"
    );
    let e = format(b"%d %s", &mut Args(vec![V::I(1)])).unwrap_err();
    assert_eq!(
        e.message("format").unwrap(),
        "bad argument #3 to 'format' (no value)"
    );
    let s = format(
        b"%5s|%-5s|%.2s",
        &mut Args(vec![
            V::S(b"ab".to_vec()),
            V::S(b"ab".to_vec()),
            V::S(b"abc".to_vec()),
        ]),
    );
    assert_eq!(s.unwrap(), b"   ab|ab   |ab".to_vec());
    // Strings of 100+ bytes with a width but no precision are copied whole.
    let s = format(b"%5s", &mut Args(vec![V::S(vec![b'x'; 120])])).unwrap();
    assert_eq!(s.len(), 120);
}
