//! `os.date` and `os.time` as lua5.4 with glibc in the "C" locale.
//!
//! # What
//!
//! * [`os_date`]: `os.date(format, t)`: a leading `!` selects UTC, `*t`
//!   returns the broken-down fields ([`Tm`]), anything else goes through
//!   [`strftime`], which validates conversions exactly like Lua's
//!   `checkoption` (C99 set plus the `E`/`O` modifiers) and formats them as
//!   glibc does in the C locale.
//! * [`os_time`]: `os.time(table)`: field reading rules of Lua's `getfield`
//!   ([`DateField`] + [`check_field`]), then `mktime`-style normalization;
//!   returns the time and the normalized fields the VM writes back.
//! * [`civil_from_days`] / [`days_from_civil`]: proleptic Gregorian
//!   calendar arithmetic on day numbers relative to 1970-01-01.
//!
//! # Why this approach
//!
//! The calendar is computed with pure integer arithmetic (no libc, no
//! `unsafe`) using the well-known era-based day-number conversion, valid for
//! every year that fits C's `int tm_year`, which is also the range outside of
//! which lua5.4 reports "cannot be represented in this installation".
//! Local time is described by a [`TimeZone`] (UTC offset, DST flag,
//! abbreviation) valid at the instant in question; [`super::tz::Tz`]
//! computes it from `TZ` / `/etc/localtime` (TZif and POSIX rules).  The
//! default is UTC, which is what glibc uses when `TZ` is unset and
//! `/etc/localtime` is UTC (as on this build host).

/// A broken-down time (Lua's `os.date("*t")` table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tm {
    /// Full year (e.g. 2024).
    pub year: i64,
    /// 1..=12
    pub month: i64,
    /// 1..=31
    pub day: i64,
    pub hour: i64,
    pub min: i64,
    pub sec: i64,
    /// Day of the year, 1..=366.
    pub yday: i64,
    /// Day of the week, 1..=7, Sunday is 1.
    pub wday: i64,
    pub isdst: bool,
}

/// A fixed-offset time zone used for local time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeZone {
    /// Seconds east of UTC.
    pub offset: i64,
    /// Whether this offset is daylight-saving time (`isdst`).
    pub is_dst: bool,
    /// Abbreviation printed by `%Z`.
    pub name: String,
}

impl TimeZone {
    /// UTC as local time zone (`%Z` prints "UTC").
    pub fn utc() -> Self {
        TimeZone {
            offset: 0,
            is_dst: false,
            name: "UTC".into(),
        }
    }
    /// The zone `gmtime` reports (`os.date("!%Z")` prints "GMT").
    pub fn gmt() -> Self {
        TimeZone {
            offset: 0,
            is_dst: false,
            name: "GMT".into(),
        }
    }
}

/// Days since 1970-01-01 of the given proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// (year, month 1..=12, day 1..=31) of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn tm_year_fits(year: i64) -> bool {
    let ty = year - 1900;
    ty >= i32::MIN as i64 && ty <= i32::MAX as i64
}

/// Breaks `t` (seconds since the epoch) down in the given zone; `None` when
/// the year does not fit C's `int tm_year` (Lua then raises "date result
/// cannot be represented in this installation").
pub fn broken_down(t: i64, tz: &TimeZone) -> Option<Tm> {
    let local = t.checked_add(tz.offset)?;
    let days = local.div_euclid(86400);
    let secs = local.rem_euclid(86400);
    // Years beyond ~2^33 cannot fit tm_year anyway; avoid overflow.
    if days.unsigned_abs() > 1 << 40 {
        return None;
    }
    let (year, month, day) = civil_from_days(days);
    if !tm_year_fits(year) {
        return None;
    }
    let yday = days - days_from_civil(year, 1, 1) + 1;
    let wday = (days + 4).rem_euclid(7) + 1; // 1970-01-01 was a Thursday
    Some(Tm {
        year,
        month,
        day,
        hour: secs / 3600,
        min: secs % 3600 / 60,
        sec: secs % 60,
        yday,
        wday,
        isdst: tz.is_dst,
    })
}

/// `gmtime`.
pub fn gmtime(t: i64) -> Option<Tm> {
    broken_down(t, &TimeZone::gmt())
}

const WDAY: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTH: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Conversions Lua 5.4 accepts (C99): single letters, then `E`/`O` pairs.
const OPTIONS_1: &[u8] = b"aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ%";
const OPTIONS_2: [&[u8]; 19] = [
    b"Ec", b"EC", b"Ex", b"EX", b"Ey", b"EY", b"Od", b"Oe", b"OH", b"OI", b"Om", b"OM", b"OS",
    b"Ou", b"OU", b"OV", b"Ow", b"OW", b"Oy",
];

/// ISO 8601 week-based (year, week 1..=53).
fn iso_week(tm: &Tm) -> (i64, i64) {
    // Days from the Monday of ISO week 1 of the year to the date.
    fn week_days(yday0: i64, wday0: i64) -> i64 {
        yday0 - (yday0 - wday0 + 4 + 378) % 7 + 3
    }
    let yday0 = tm.yday - 1;
    let wday0 = tm.wday - 1;
    let mut year = tm.year;
    let mut days = week_days(yday0, wday0);
    if days < 0 {
        year -= 1;
        days = week_days(yday0 + if is_leap(year) { 366 } else { 365 }, wday0);
    } else {
        let d = week_days(yday0 - if is_leap(year) { 366 } else { 365 }, wday0);
        if d >= 0 {
            year += 1;
            days = d;
        }
    }
    (year, days / 7 + 1)
}

fn push_conv(out: &mut Vec<u8>, conv: u8, tm: &Tm, tz: &TimeZone) {
    let mut put = |s: String| out.extend_from_slice(s.as_bytes());
    let wday0 = (tm.wday - 1).rem_euclid(7) as usize;
    let mon0 = (tm.month - 1).rem_euclid(12) as usize;
    let hour12 = if tm.hour % 12 == 0 { 12 } else { tm.hour % 12 };
    match conv {
        b'a' => put(WDAY[wday0][..3].to_string()),
        b'A' => put(WDAY[wday0].to_string()),
        b'b' | b'h' => put(MONTH[mon0][..3].to_string()),
        b'B' => put(MONTH[mon0].to_string()),
        b'c' => {
            put(format!(
                "{} {} {:2} {:02}:{:02}:{:02} {}",
                &WDAY[wday0][..3],
                &MONTH[mon0][..3],
                tm.day,
                tm.hour,
                tm.min,
                tm.sec,
                tm.year
            ));
        }
        b'C' => put(tm.year.div_euclid(100).to_string()),
        b'd' => put(format!("{:02}", tm.day)),
        b'D' | b'x' => put(format!(
            "{:02}/{:02}/{:02}",
            tm.month,
            tm.day,
            tm.year.rem_euclid(100)
        )),
        b'e' => put(format!("{:2}", tm.day)),
        b'F' => put(format!("{}-{:02}-{:02}", tm.year, tm.month, tm.day)),
        b'g' => put(format!("{:02}", iso_week(tm).0.rem_euclid(100))),
        b'G' => put(iso_week(tm).0.to_string()),
        b'H' => put(format!("{:02}", tm.hour)),
        b'I' => put(format!("{hour12:02}")),
        b'j' => put(format!("{:03}", tm.yday)),
        b'm' => put(format!("{:02}", tm.month)),
        b'M' => put(format!("{:02}", tm.min)),
        b'n' => put("\n".into()),
        b'p' => put(if tm.hour < 12 { "AM" } else { "PM" }.into()),
        b'r' => put(format!(
            "{hour12:02}:{:02}:{:02} {}",
            tm.min,
            tm.sec,
            if tm.hour < 12 { "AM" } else { "PM" }
        )),
        b'R' => put(format!("{:02}:{:02}", tm.hour, tm.min)),
        b'S' => put(format!("{:02}", tm.sec)),
        b't' => put("\t".into()),
        b'T' | b'X' => put(format!("{:02}:{:02}:{:02}", tm.hour, tm.min, tm.sec)),
        b'u' => put((if wday0 == 0 { 7 } else { wday0 }).to_string()),
        b'U' => put(format!("{:02}", (tm.yday - 1 + 7 - wday0 as i64) / 7)),
        b'V' => put(format!("{:02}", iso_week(tm).1)),
        b'w' => put(wday0.to_string()),
        b'W' => put(format!(
            "{:02}",
            (tm.yday - 1 + 7 - (wday0 as i64 + 6) % 7) / 7
        )),
        b'y' => put(format!("{:02}", tm.year.rem_euclid(100))),
        b'Y' => put(tm.year.to_string()),
        b'z' => {
            let o = tz.offset;
            let a = o.unsigned_abs() / 60;
            put(format!(
                "{}{:02}{:02}",
                if o < 0 { '-' } else { '+' },
                a / 60,
                a % 60
            ));
        }
        b'Z' => put(tz.name.clone()),
        _ => put("%".into()),
    }
}

/// Formats `tm` with an `os.date` format (without the leading `!`).
/// Errors with the argument message Lua raises as "bad argument #1 to
/// 'date' (MSG)": "invalid conversion specifier '%REST'", where REST is the
/// remainder of the format string after the `%`.
pub fn strftime(fmt: &[u8], tm: &Tm, tz: &TimeZone) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < fmt.len() {
        if fmt[i] != b'%' {
            out.push(fmt[i]);
            i += 1;
            continue;
        }
        i += 1;
        let rest = &fmt[i..];
        if let Some(&c) = rest.first().filter(|c| OPTIONS_1.contains(c)) {
            push_conv(&mut out, c, tm, tz);
            i += 1;
        } else if rest.len() >= 2 && OPTIONS_2.contains(&&rest[..2]) {
            // In the C locale the E and O modifiers change nothing.
            push_conv(&mut out, rest[1], tm, tz);
            i += 2;
        } else {
            let shown = rest.split(|&c| c == 0).next().unwrap_or(&[]);
            return Err(format!(
                "invalid conversion specifier '%{}'",
                String::from_utf8_lossy(shown)
            ));
        }
    }
    Ok(out)
}

/// Result of [`os_date`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateResult {
    /// `*t` / `!*t`: build a table with fields year, month, day, hour, min,
    /// sec, yday, wday, isdst (boolean).
    Table(Tm),
    /// The formatted string.
    Str(Vec<u8>),
}

/// Errors of [`os_date`] / [`os_time`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateError {
    /// `luaL_argerror(arg, msg)`: "bad argument #ARG to 'date' (MSG)".
    BadArgument { arg: usize, msg: String },
    /// `luaL_error(msg)`.
    Message(String),
}

/// `os.date(fmt, t)`: `fmt` defaults to `%c` and `t` to the current time
/// (the VM supplies both; `t` already converted with `luaL_checkinteger`).
/// `local` is the zone used without `!`.
pub fn os_date(fmt: &[u8], t: i64, local: &TimeZone) -> Result<DateResult, DateError> {
    let (fmt, tz) = match fmt.first() {
        Some(b'!') => (&fmt[1..], TimeZone::gmt()),
        _ => (fmt, local.clone()),
    };
    let tm = broken_down(t, &tz).ok_or_else(|| {
        DateError::Message("date result cannot be represented in this installation".into())
    })?;
    // Lua compares with strcmp, so "*t" followed by a NUL byte also counts.
    if fmt.split(|&c| c == 0).next() == Some(b"*t") {
        return Ok(DateResult::Table(tm));
    }
    strftime(fmt, &tm, &tz)
        .map(DateResult::Str)
        .map_err(|msg| DateError::BadArgument { arg: 1, msg })
}

/// A field of the table given to `os.time`, as the VM found it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DateField {
    /// The field is nil (absent).
    Absent,
    /// The field converts to an integer (`lua_tointegerx` succeeded: an
    /// integer, an integral float or a numeric string).
    Int(i64),
    /// Any other value.
    NotInteger,
}

/// Lua's `getfield` for os.time: `default` is used when absent (`None` =
/// required), `delta` is subtracted (1900 for year, 1 for month).
/// Returns the C `int` field value.
pub fn check_field(
    key: &str,
    v: DateField,
    default: Option<i32>,
    delta: i64,
) -> Result<i32, DateError> {
    match v {
        DateField::Int(res) => {
            let ok = if res >= 0 {
                res - delta <= i32::MAX as i64
            } else {
                i32::MIN as i64 + delta <= res
            };
            if !ok {
                return Err(DateError::Message(format!("field '{key}' is out-of-bound")));
            }
            Ok((res - delta) as i32)
        }
        DateField::NotInteger => Err(DateError::Message(format!(
            "field '{key}' is not an integer"
        ))),
        DateField::Absent => default
            .ok_or_else(|| DateError::Message(format!("field '{key}' missing in date table"))),
    }
}

/// The fields of an `os.time` table, in the order Lua reads them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeFields {
    pub year: DateField,
    pub month: DateField,
    pub day: DateField,
    pub hour: DateField,
    pub min: DateField,
    pub sec: DateField,
    /// `isdst` is only read as a boolean; it does not change the result in
    /// a fixed-offset zone.
    pub isdst: Option<bool>,
}

/// `os.time(table)` in a fixed-offset zone: validates the fields (year,
/// month, day required; hour defaults to 12, min and sec to 0), normalizes
/// out-of-range values like `mktime`, and returns the time plus the
/// normalized fields that Lua writes back into the table.  Like lua5.4, a
/// result of exactly -1 is reported as "time result cannot be represented in
/// this installation".
pub fn os_time(f: &TimeFields, local: &TimeZone) -> Result<(i64, Tm), DateError> {
    os_time_in(f, &|_| local.clone())
}

/// `os.time(table)` in a zone whose offset varies: `zone_at(t)` gives the
/// zone in effect at UTC instant `t` (see `tz::Tz::zone_at`).  The local
/// wall-clock time is converted with two lookups (offset at the naive
/// instant, then at the corrected one); `isdst` hints are ignored, so for
/// wall-clock times that occur twice or never around a DST change the
/// result may differ from glibc's `mktime`.
pub fn os_time_in(
    f: &TimeFields,
    zone_at: &dyn Fn(i64) -> TimeZone,
) -> Result<(i64, Tm), DateError> {
    let year = check_field("year", f.year, None, 1900)? as i64;
    let mon = check_field("month", f.month, None, 1)? as i64;
    let mday = check_field("day", f.day, None, 0)? as i64;
    let hour = check_field("hour", f.hour, Some(12), 0)? as i64;
    let min = check_field("min", f.min, Some(0), 0)? as i64;
    let sec = check_field("sec", f.sec, Some(0), 0)? as i64;
    let err =
        || DateError::Message("time result cannot be represented in this installation".into());
    // Normalize the month into the year first (as mktime does).
    let y = 1900 + year + mon.div_euclid(12);
    let m = mon.rem_euclid(12) + 1;
    if !tm_year_fits(y) {
        return Err(err());
    }
    let days = days_from_civil(y, m, 1) + mday - 1;
    let local_secs = days * 86400 + hour * 3600 + min * 60 + sec;
    let guess = local_secs - zone_at(local_secs).offset;
    let zone = zone_at(guess);
    let t = local_secs - zone.offset;
    let tm = broken_down(t, &zone).ok_or_else(err)?;
    if t == -1 {
        return Err(err());
    }
    Ok((t, tm))
}

#[cfg(test)]
#[path = "date_tests.rs"]
mod tests;
