//! Tests for `date.rs`.  `testdata/date.tsv` holds lua5.4 `os.date` results
//! (local zone = UTC on the recording host) for hundreds of timestamps and
//! all conversions; the `os.time` cases below were recorded likewise.
use super::*;

#[test]
fn os_date_oracle() {
    let data = include_str!("testdata/date.tsv");
    let mut n = 0;
    for line in data.lines() {
        let f: Vec<&str> = line.splitn(4, '\t').collect();
        assert_eq!(f.len(), 4, "{line:?}");
        let t: i64 = f[2].parse().unwrap();
        let r = os_date(f[1].as_bytes(), t, &TimeZone::utc());
        let got = match (f[0], r) {
            ("date", Ok(DateResult::Str(s))) => String::from_utf8(s).unwrap(),
            ("tab", Ok(DateResult::Table(tm))) => format!(
                "{} {} {} {} {} {} {} {} {}",
                tm.year, tm.month, tm.day, tm.hour, tm.min, tm.sec, tm.yday, tm.wday, tm.isdst
            ),
            ("err", Err(DateError::BadArgument { arg, msg })) => {
                format!("bad argument #{arg} to 'os.date' ({msg})")
            }
            ("err", Err(DateError::Message(m))) => m,
            (k, r) => panic!("unexpected {k} {r:?} for {line}"),
        };
        assert_eq!(got, f[3], "{line}");
        n += 1;
    }
    assert!(n > 1000);
}

fn field(s: &str) -> DateField {
    match s.as_bytes()[0] {
        b'A' => DateField::Absent,
        b'X' => DateField::NotInteger,
        _ => DateField::Int(s[1..].parse().unwrap()),
    }
}

#[test]
fn os_time_oracle() {
    // (year, month, day, hour, min, sec) as A = absent, X = not an integer,
    // I<n> = integer; then time and normalized fields, or the error.
    let cases: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
        (
            "I2024",
            "I1",
            "I1",
            "A",
            "A",
            "A",
            "1704110400 2024 1 1 12 0 0 1 2 false",
        ),
        (
            "I2020",
            "I14",
            "I-3",
            "I25",
            "I-1",
            "I70",
            "1611882010 2021 1 29 1 0 10 29 6 false",
        ),
        (
            "I1969",
            "I12",
            "I31",
            "I23",
            "I59",
            "I59",
            "ERR time result cannot be represented in this installation",
        ),
        (
            "I1970",
            "I1",
            "I1",
            "I0",
            "A",
            "A",
            "0 1970 1 1 0 0 0 1 5 false",
        ),
        (
            "I2000",
            "I2",
            "I30",
            "A",
            "A",
            "A",
            "951912000 2000 3 1 12 0 0 61 4 false",
        ),
        (
            "I2000",
            "I0",
            "I0",
            "I0",
            "A",
            "A",
            "943920000 1999 11 30 0 0 0 334 3 false",
        ),
        (
            "I2000",
            "I-25",
            "I400",
            "I-100",
            "I10000",
            "I-99999",
            "912956001 1998 12 6 14 53 21 340 1 false",
        ),
        (
            "I2147485547",
            "I1",
            "I1",
            "A",
            "A",
            "A",
            "67768036160184000 2147485547 1 1 12 0 0 1 4 false",
        ),
        (
            "I2147485547",
            "I13",
            "I1",
            "A",
            "A",
            "A",
            "ERR time result cannot be represented in this installation",
        ),
        (
            "I2147485548",
            "I1",
            "I1",
            "A",
            "A",
            "A",
            "ERR field 'year' is out-of-bound",
        ),
        (
            "I-2147481748",
            "I1",
            "I1",
            "A",
            "A",
            "A",
            "-67768040609697600 -2147481748 1 1 12 0 0 1 5 false",
        ),
        (
            "I-2147481748",
            "I0",
            "I1",
            "A",
            "A",
            "A",
            "ERR time result cannot be represented in this installation",
        ),
        (
            "I2000",
            "I1",
            "I1",
            "A",
            "A",
            "I2147483648",
            "ERR field 'sec' is out-of-bound",
        ),
        (
            "I2000",
            "I1",
            "I1",
            "A",
            "A",
            "I-2147483648",
            "-1200755648 1931 12 14 8 45 52 348 2 false",
        ),
        (
            "I2000",
            "I1",
            "I1",
            "I2147483647",
            "I2147483647",
            "I2147483647",
            "7862884316467 251134 11 20 12 21 7 324 3 false",
        ),
        (
            "I2000",
            "I1",
            "A",
            "A",
            "A",
            "A",
            "ERR field 'day' missing in date table",
        ),
        (
            "A",
            "I1",
            "I1",
            "A",
            "A",
            "A",
            "ERR field 'year' missing in date table",
        ),
        (
            "I2000",
            "A",
            "I1",
            "A",
            "A",
            "A",
            "ERR field 'month' missing in date table",
        ),
        (
            "I2000",
            "I1",
            "I1",
            "X",
            "A",
            "A",
            "ERR field 'hour' is not an integer",
        ),
        (
            "I2000",
            "I3",
            "I1",
            "A",
            "A",
            "A",
            "951912000 2000 3 1 12 0 0 61 4 false",
        ),
        (
            "I2000",
            "I1",
            "X",
            "A",
            "A",
            "A",
            "ERR field 'day' is not an integer",
        ),
        (
            "I1",
            "I1",
            "I1",
            "A",
            "A",
            "A",
            "-62135553600 1 1 1 12 0 0 1 2 false",
        ),
        (
            "I0",
            "I1",
            "I1",
            "I0",
            "A",
            "A",
            "-62167219200 0 1 1 0 0 0 1 7 false",
        ),
        (
            "I-500",
            "I6",
            "I15",
            "A",
            "A",
            "A",
            "-77931374400 -500 6 15 12 0 0 166 6 false",
        ),
        (
            "I10000",
            "I1",
            "I1",
            "A",
            "A",
            "A",
            "253402344000 10000 1 1 12 0 0 1 7 false",
        ),
        (
            "I2000",
            "I-2147483648",
            "I1",
            "A",
            "A",
            "A",
            "ERR field 'month' is out-of-bound",
        ),
        (
            "I2000",
            "I2147483648",
            "I1",
            "A",
            "A",
            "A",
            "5647337477467200 178958970 8 1 12 0 0 213 4 false",
        ),
        (
            "I2000",
            "I1",
            "I-2147483648",
            "I-2147483648",
            "I-2147483648",
            "I-2147483648",
            "-193403578224128 -6126746 8 1 10 37 52 213 7 false",
        ),
    ];
    for &(y, mo, d, h, mi, s, want) in cases {
        let f = TimeFields {
            year: field(y),
            month: field(mo),
            day: field(d),
            hour: field(h),
            min: field(mi),
            sec: field(s),
            isdst: None,
        };
        let got = match os_time(&f, &TimeZone::utc()) {
            Ok((t, tm)) => format!(
                "{t} {} {} {} {} {} {} {} {} {}",
                tm.year, tm.month, tm.day, tm.hour, tm.min, tm.sec, tm.yday, tm.wday, tm.isdst
            ),
            Err(DateError::Message(m)) => format!("ERR {m}"),
            Err(e) => panic!("{e:?}"),
        };
        assert_eq!(got, want, "{y} {mo} {d} {h} {mi} {s}");
    }
}

#[test]
fn calendar_roundtrip() {
    for z in (-1_000_000i64..1_000_000).step_by(7) {
        let (y, m, d) = civil_from_days(z);
        assert_eq!(days_from_civil(y, m, d), z);
    }
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11017);
}

#[test]
fn fixed_offset_zone() {
    let tz = TimeZone {
        offset: -5 * 3600 - 30 * 60,
        is_dst: true,
        name: "XST".into(),
    };
    let r = os_date(b"%Y-%m-%d %H:%M:%S %z %Z", 0, &tz).unwrap();
    assert_eq!(
        r,
        DateResult::Str(b"1969-12-31 18:30:00 -0530 XST".to_vec())
    );
    let f = TimeFields {
        year: DateField::Int(1970),
        month: DateField::Int(1),
        day: DateField::Int(1),
        hour: DateField::Int(0),
        min: DateField::Absent,
        sec: DateField::Absent,
        isdst: None,
    };
    assert_eq!(os_time(&f, &tz).unwrap().0, 5 * 3600 + 30 * 60);
}

#[test]
fn fuzz_no_panics() {
    let alphabet = b"%aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZEO!*t q";
    let mut st = 11u64;
    for _ in 0..20_000 {
        st = st
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = ((st >> 33) % 8) as usize;
        let fmt: Vec<u8> = (0..len)
            .map(|i| alphabet[((st >> (i * 5 + 3)) as usize) % alphabet.len()])
            .collect();
        let t = (st as i64) >> ((st >> 60) as u32 * 4);
        let _ = os_date(&fmt, t, &TimeZone::utc());
        let v = |k: u32| DateField::Int(((st.rotate_left(k) as i64) >> 20) as i32 as i64);
        let f = TimeFields {
            year: v(1),
            month: v(9),
            day: v(17),
            hour: v(25),
            min: v(33),
            sec: v(41),
            isdst: None,
        };
        let _ = os_time(&f, &TimeZone::utc());
    }
}
