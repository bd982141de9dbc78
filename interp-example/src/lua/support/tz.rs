//! Local time zone rules: TZif files (`/etc/localtime`) and POSIX `TZ`
//! strings, enough for `os.date`/`os.time` in local time.
//!
//! # What
//!
//! [`Tz`] answers "which UTC offset, DST flag and abbreviation apply at UTC
//! instant t" ([`Tz::zone_at`]), producing a [`TimeZone`] for
//! [`super::date::os_date`] / [`super::date::os_time_in`].  It is built from
//! a TZif file (RFC 8536, versions 1-4: the transition table plus the POSIX
//! footer rule used after the last transition) or directly from a POSIX TZ
//! string such as `CET-1CEST,M3.5.0,M10.5.0/3`.  [`Tz::from_env`] mirrors
//! glibc's lookup: `TZ` (a file name relative to `/usr/share/zoneinfo`, an
//! absolute path, or a rule string), else `/etc/localtime`, else UTC.
//!
//! # Why this approach
//!
//! glibc's `localtime` reads exactly these data; parsing them ourselves keeps
//! the support code free of libc calls and `unsafe`.  Leap-second records
//! are ignored (the system zone files do not use them).  Anything we cannot
//! parse falls back to UTC, which is also what glibc does.

use super::date::{days_from_civil, TimeZone};

/// One local time type (offset, DST flag, abbreviation).
#[derive(Clone, Debug, PartialEq, Eq)]
struct TType {
    utoff: i64,
    isdst: bool,
    abbr: String,
}

/// A day-of-year rule of a POSIX TZ string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DayRule {
    /// `Jn`: day 1..=365, February 29 never counted.
    Julian1(i64),
    /// `n`: day 0..=365, counting February 29.
    Julian0(i64),
    /// `Mm.w.d`: day `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    Month(i64, i64, i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct PosixRule {
    std: TType,
    /// DST type and its start/end rules with times (seconds after local
    /// midnight, standard time for start and DST time for end).
    dst: Option<(TType, DayRule, i64, DayRule, i64)>,
}

/// A time zone: transition table plus an optional rule for later times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tz {
    transitions: Vec<(i64, usize)>,
    types: Vec<TType>,
    rule: Option<PosixRule>,
}

fn be32(b: &[u8], at: usize) -> Option<i64> {
    let s = b.get(at..at + 4)?;
    Some(i32::from_be_bytes([s[0], s[1], s[2], s[3]]) as i64)
}

fn be64(b: &[u8], at: usize) -> Option<i64> {
    let s = b.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(i64::from_be_bytes(a))
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

impl Tz {
    /// UTC.
    pub fn utc() -> Tz {
        Tz {
            transitions: vec![],
            types: vec![TType {
                utoff: 0,
                isdst: false,
                abbr: "UTC".into(),
            }],
            rule: None,
        }
    }

    /// Parses a TZif file.
    pub fn from_tzif(data: &[u8]) -> Option<Tz> {
        if data.get(..4)? != b"TZif" {
            return None;
        }
        let version = *data.get(4)?;
        let counts = |at: usize| -> Option<[usize; 6]> {
            let mut c = [0usize; 6];
            for (i, v) in c.iter_mut().enumerate() {
                *v = usize::try_from(be32(data, at + 20 + 4 * i)?).ok()?;
            }
            Some(c)
        };
        // [isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt]
        let c1 = counts(0)?;
        let v1_len = c1[3] * 5 + c1[4] * 6 + c1[5] + c1[2] * 8 + c1[1] + c1[0];
        let (base, c, tsize) = if version >= b'2' {
            let h2 = 44 + v1_len;
            if data.get(h2..h2 + 4)? != b"TZif" {
                return None;
            }
            (h2, counts(h2)?, 8)
        } else {
            (0, c1, 4)
        };
        let [isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt] = c;
        if typecnt == 0 {
            return None;
        }
        let mut p = base + 44;
        let mut times = Vec::with_capacity(timecnt);
        for i in 0..timecnt {
            times.push(if tsize == 8 {
                be64(data, p + 8 * i)?
            } else {
                be32(data, p + 4 * i)?
            });
        }
        p += timecnt * tsize;
        let idx = data.get(p..p + timecnt)?;
        p += timecnt;
        let tt_at = p;
        p += typecnt * 6;
        let chars = data.get(p..p + charcnt)?;
        p += charcnt + leapcnt * (tsize + 4) + isstdcnt + isutcnt;
        let mut types = Vec::with_capacity(typecnt);
        for i in 0..typecnt {
            let at = tt_at + 6 * i;
            let utoff = be32(data, at)?;
            let isdst = *data.get(at + 4)? != 0;
            let ai = *data.get(at + 5)? as usize;
            let abbr_bytes = chars.get(ai..).unwrap_or(&[]);
            let end = abbr_bytes
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(abbr_bytes.len());
            types.push(TType {
                utoff,
                isdst,
                abbr: String::from_utf8_lossy(&abbr_bytes[..end]).into_owned(),
            });
        }
        let mut transitions = Vec::with_capacity(timecnt);
        for (t, &i) in times.iter().zip(idx) {
            if (i as usize) >= typecnt {
                return None;
            }
            transitions.push((*t, i as usize));
        }
        let rule = if version >= b'2' {
            let rest = data.get(p..).unwrap_or(&[]);
            let rest = rest.strip_prefix(b"\n").unwrap_or(rest);
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(0);
            parse_posix(&rest[..end])
        } else {
            None
        };
        Some(Tz {
            transitions,
            types,
            rule,
        })
    }

    /// Builds a zone from a POSIX TZ rule string (e.g. `EST5EDT,M3.2.0,M11.1.0`).
    pub fn from_posix(s: &str) -> Option<Tz> {
        let rule = parse_posix(s.as_bytes())?;
        Some(Tz {
            transitions: vec![],
            types: vec![rule.std.clone()],
            rule: Some(rule),
        })
    }

    /// The local zone as glibc determines it: the `TZ` environment variable
    /// (`:name`, `name` under /usr/share/zoneinfo, absolute path, or a POSIX
    /// rule), else `/etc/localtime`, else UTC.
    pub fn from_env() -> Tz {
        let load = |path: &str| std::fs::read(path).ok().and_then(|d| Tz::from_tzif(&d));
        match std::env::var("TZ") {
            Ok(v) if !v.is_empty() => {
                let name = v.strip_prefix(':').unwrap_or(&v);
                let file = if name.starts_with('/') {
                    load(name)
                } else if !name.contains("..") {
                    load(&format!("/usr/share/zoneinfo/{name}"))
                } else {
                    None
                };
                file.or_else(|| Tz::from_posix(name))
                    .unwrap_or_else(Tz::utc)
            }
            _ => load("/etc/localtime").unwrap_or_else(Tz::utc),
        }
    }

    /// The zone in effect at UTC instant `t`.
    pub fn zone_at(&self, t: i64) -> TimeZone {
        let ty = self.type_at(t);
        TimeZone {
            offset: ty.utoff,
            is_dst: ty.isdst,
            name: ty.abbr,
        }
    }

    fn type_at(&self, t: i64) -> TType {
        let after_last = self.transitions.last().is_none_or(|&(lt, _)| t >= lt);
        if after_last {
            if let Some(rule) = &self.rule {
                return rule.type_at(t);
            }
        }
        let n = self.transitions.partition_point(|&(tt, _)| tt <= t);
        if n == 0 {
            // Before the first transition: the first standard-time type.
            return self
                .types
                .iter()
                .find(|ty| !ty.isdst)
                .unwrap_or(&self.types[0])
                .clone();
        }
        self.transitions
            .get(n - 1)
            .and_then(|&(_, i)| self.types.get(i))
            .unwrap_or(&self.types[0])
            .clone()
    }
}

impl PosixRule {
    fn type_at(&self, t: i64) -> TType {
        let Some((dst, start, start_time, end, end_time)) = &self.dst else {
            return self.std.clone();
        };
        let year = super::date::civil_from_days((t + self.std.utoff).div_euclid(86400)).0;
        let is_dst_in = |y: i64| {
            let s = day_of(y, *start) * 86400 + start_time - self.std.utoff;
            let e = day_of(y, *end) * 86400 + end_time - dst.utoff;
            if s < e {
                t >= s && t < e
            } else {
                !(t >= e && t < s)
            }
        };
        if is_dst_in(year) {
            dst.clone()
        } else {
            self.std.clone()
        }
    }
}

/// Day number (since 1970-01-01) of a rule's day in year `y`.
fn day_of(y: i64, r: DayRule) -> i64 {
    let jan1 = days_from_civil(y, 1, 1);
    match r {
        DayRule::Julian1(n) => jan1 + n - 1 + if is_leap(y) && n >= 60 { 1 } else { 0 },
        DayRule::Julian0(n) => jan1 + n,
        DayRule::Month(m, w, d) => {
            let first = days_from_civil(y, m, 1);
            let dow = (first + 4).rem_euclid(7);
            let mut day = (d - dow).rem_euclid(7) + (w - 1) * 7;
            let len = days_from_civil(
                if m == 12 { y + 1 } else { y },
                if m == 12 { 1 } else { m + 1 },
                1,
            ) - first;
            while day >= len {
                day -= 7;
            }
            first + day
        }
    }
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn name(&mut self) -> Option<String> {
        if self.peek() == Some(b'<') {
            let start = self.i + 1;
            let end = start + self.s.get(start..)?.iter().position(|&c| c == b'>')?;
            self.i = end + 1;
            return Some(String::from_utf8_lossy(&self.s[start..end]).into_owned());
        }
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        (self.i - start >= 3).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    fn num(&mut self) -> Option<i64> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i == start || self.i - start > 6 {
            return None;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse()
            .ok()
    }
    /// `[+-]hh[:mm[:ss]]` in seconds.
    fn hms(&mut self) -> Option<i64> {
        let sign = match self.peek() {
            Some(b'-') => {
                self.i += 1;
                -1
            }
            Some(b'+') => {
                self.i += 1;
                1
            }
            _ => 1,
        };
        let mut v = self.num()? * 3600;
        for mult in [60, 1] {
            if self.peek() == Some(b':') {
                self.i += 1;
                v += self.num()? * mult;
            } else {
                break;
            }
        }
        Some(sign * v)
    }
    fn date(&mut self) -> Option<(DayRule, i64)> {
        let r = match self.peek()? {
            b'J' => {
                self.i += 1;
                let n = self.num()?;
                (1..=365).contains(&n).then_some(DayRule::Julian1(n))?
            }
            b'M' => {
                self.i += 1;
                let m = self.num()?;
                (self.peek() == Some(b'.')).then_some(())?;
                self.i += 1;
                let w = self.num()?;
                (self.peek() == Some(b'.')).then_some(())?;
                self.i += 1;
                let d = self.num()?;
                ((1..=12).contains(&m) && (1..=5).contains(&w) && (0..=6).contains(&d))
                    .then_some(DayRule::Month(m, w, d))?
            }
            _ => {
                let n = self.num()?;
                (0..=365).contains(&n).then_some(DayRule::Julian0(n))?
            }
        };
        let time = if self.peek() == Some(b'/') {
            self.i += 1;
            self.hms()?
        } else {
            7200
        };
        Some((r, time))
    }
}

fn parse_posix(s: &[u8]) -> Option<PosixRule> {
    let mut p = P { s, i: 0 };
    let std_name = p.name()?;
    let std_off = -p.hms()?;
    let std = TType {
        utoff: std_off,
        isdst: false,
        abbr: std_name,
    };
    if p.peek().is_none() {
        return Some(PosixRule { std, dst: None });
    }
    let dst_name = p.name()?;
    let dst_off = match p.peek() {
        Some(b',') | None => std_off + 3600,
        _ => -p.hms()?,
    };
    let dst = TType {
        utoff: dst_off,
        isdst: true,
        abbr: dst_name,
    };
    // Without explicit rules glibc uses the US rules.
    let (start, end) = if p.peek() == Some(b',') {
        p.i += 1;
        let start = p.date()?;
        (p.peek() == Some(b',')).then_some(())?;
        p.i += 1;
        let end = p.date()?;
        (start, end)
    } else {
        (
            (DayRule::Month(3, 2, 0), 7200),
            (DayRule::Month(11, 1, 0), 7200),
        )
    };
    if p.peek().is_some() {
        return None;
    }
    Some(PosixRule {
        std,
        dst: Some((dst, start.0, start.1, end.0, end.1)),
    })
}

#[cfg(test)]
mod tests {
    use super::super::date::{os_date, os_time_in, DateField, DateResult, TimeFields};
    use super::*;

    fn date(tz: &Tz, t: i64) -> String {
        match os_date(b"%Y-%m-%d %H:%M:%S %Z %z", t, &tz.zone_at(t)).unwrap() {
            DateResult::Str(s) => String::from_utf8(s).unwrap(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn posix_rules_match_lua() {
        // TZ="CET-1CEST,M3.5.0,M10.5.0/3" lua5.4 -e 'print(os.date("%Y-%m-%d %H:%M:%S %Z %z", t))'
        let tz = Tz::from_posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(date(&tz, 1690000000), "2023-07-22 06:26:40 CEST +0200");
        assert_eq!(date(&tz, 1700000000), "2023-11-14 23:13:20 CET +0100");
        let ny = Tz::from_posix("EST5EDT,M3.2.0,M11.1.0").unwrap();
        assert_eq!(date(&ny, 1690000000), "2023-07-22 00:26:40 EDT -0400");
        let syd = Tz::from_posix("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
        assert_eq!(date(&syd, 1690000000), "2023-07-22 14:26:40 AEST +1000");
        assert_eq!(date(&syd, 1700000000), "2023-11-15 09:13:20 AEDT +1100");
        assert!(Tz::from_posix("x").is_none());
        assert!(Tz::from_posix("CET-1CEST,M13.5.0,M10.5.0").is_none());
    }

    #[test]
    fn tzif_files_if_present() {
        // Expected values from `TZ=<zone> lua5.4 -e 'print(os.date(...))'`.
        let cases: &[(&str, i64, &str)] = &[
            ("Europe/Berlin", 1700000000, "2023-11-14 23:13:20 CET +0100"),
            (
                "Europe/Berlin",
                1690000000,
                "2023-07-22 06:26:40 CEST +0200",
            ),
            ("Europe/Berlin", 0, "1970-01-01 01:00:00 CET +0100"),
            ("Europe/Berlin", 4102444800, "2100-01-01 01:00:00 CET +0100"),
            (
                "Europe/Berlin",
                4118000000,
                "2100-06-30 02:53:20 CEST +0200",
            ),
            (
                "America/New_York",
                1700000000,
                "2023-11-14 17:13:20 EST -0500",
            ),
            (
                "America/New_York",
                1690000000,
                "2023-07-22 00:26:40 EDT -0400",
            ),
            ("America/New_York", 0, "1969-12-31 19:00:00 EST -0500"),
            (
                "America/New_York",
                4102444800,
                "2099-12-31 19:00:00 EST -0500",
            ),
            (
                "America/New_York",
                4118000000,
                "2100-06-29 20:53:20 EDT -0400",
            ),
            (
                "Australia/Sydney",
                1700000000,
                "2023-11-15 09:13:20 AEDT +1100",
            ),
            (
                "Australia/Sydney",
                1690000000,
                "2023-07-22 14:26:40 AEST +1000",
            ),
            ("Australia/Sydney", 0, "1970-01-01 10:00:00 AEST +1000"),
            (
                "Australia/Sydney",
                4102444800,
                "2100-01-01 11:00:00 AEDT +1100",
            ),
            (
                "Australia/Sydney",
                4118000000,
                "2100-06-30 10:53:20 AEST +1000",
            ),
            ("Asia/Kolkata", 1700000000, "2023-11-15 03:43:20 IST +0530"),
            ("Asia/Kolkata", 0, "1970-01-01 05:30:00 IST +0530"),
        ];
        for &(zone, t, want) in cases {
            let Ok(data) = std::fs::read(format!("/usr/share/zoneinfo/{zone}")) else {
                continue;
            };
            let tz = Tz::from_tzif(&data).expect(zone);
            assert_eq!(date(&tz, t), want, "{zone} {t}");
        }
    }

    #[test]
    fn mktime_in_zone() {
        // TZ=Europe/Berlin lua5.4 -e 'print(os.time{year=2023,month=7,day=22,hour=6,min=26,sec=40})'
        let tz = Tz::from_posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        let f = TimeFields {
            year: DateField::Int(2023),
            month: DateField::Int(7),
            day: DateField::Int(22),
            hour: DateField::Int(6),
            min: DateField::Int(26),
            sec: DateField::Int(40),
            isdst: None,
        };
        let (t, tm) = os_time_in(&f, &|t| tz.zone_at(t)).unwrap();
        assert_eq!(t, 1690000000);
        assert!(tm.isdst);
    }

    #[test]
    fn garbage_does_not_panic() {
        let mut data = b"TZif2".to_vec();
        data.resize(200, 0xff);
        assert!(Tz::from_tzif(&data).is_none());
        for n in 0..64 {
            let _ = Tz::from_tzif(&data[..n]);
        }
        let utc = Tz::utc().zone_at(0);
        assert_eq!((utc.offset, utc.name.as_str()), (0, "UTC"));
    }
}
