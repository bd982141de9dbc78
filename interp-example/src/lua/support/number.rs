//! String to number conversion and float/integer conversion, as Lua 5.4.
//!
//! # What
//!
//! [`str_to_number`] is Lua's `lua_stringtonumber` (used by `tonumber(s)`,
//! by arithmetic on strings and by the lexer for numerals): it first tries an
//! integer (decimal, or hexadecimal with wrap-around) and falls back to a
//! float (decimal or hexadecimal with a `p` exponent).  [`str_to_int_base`]
//! is `tonumber(s, base)`.  The `float_to_int*` helpers mirror
//! `luaV_flttointns` in its three modes (exact, floor, ceil).
//!
//! # Why this approach
//!
//! Lua delegates float parsing to C's `strtod` but wraps it with its own
//! rules: words containing `n`/`N` (`inf`, `nan`) are rejected, surrounding
//! whitespace is allowed, the whole string must be consumed and decimal
//! integers that overflow become floats while hexadecimal ones wrap.  We
//! follow those rules literally.  Decimal floats use Rust's correctly rounded
//! `f64` parser (which accepts exactly strtod's decimal syntax once the
//! surrounding checks are done); hexadecimal floats are converted here with
//! round-half-to-even on a 64-bit mantissa plus sticky bit, which gives the
//! correctly rounded result glibc's `strtod` produces.

/// A Lua number: integer or float subtype.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

/// C `isspace` in the "C" locale.
pub fn is_space(c: u8) -> bool {
    c == b' ' || (9..=13).contains(&c)
}

fn trim_space(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&c| !is_space(c)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&c| !is_space(c))
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

fn hex_val(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

/// Lua's `l_str2int`: an integer numeral with optional surrounding spaces
/// and sign; decimal overflow fails (so the caller falls back to float),
/// hexadecimal wraps around modulo 2^64.
pub fn str_to_int(s: &[u8]) -> Option<i64> {
    let s = trim_space(s);
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut a: u64 = 0;
    if s.len() >= 2 && s[0] == b'0' && (s[1] == b'x' || s[1] == b'X') {
        let digits = &s[2..];
        if digits.is_empty() {
            return None;
        }
        for &c in digits {
            a = a.wrapping_mul(16).wrapping_add(hex_val(c)? as u64);
        }
    } else {
        if s.is_empty() {
            return None;
        }
        let max_by_10 = (i64::MAX as u64) / 10;
        let max_last = (i64::MAX as u64) % 10;
        for &c in s {
            if !c.is_ascii_digit() {
                return None;
            }
            let d = (c - b'0') as u64;
            if a >= max_by_10 && (a > max_by_10 || d > max_last + neg as u64) {
                return None;
            }
            a = a * 10 + d;
        }
    }
    let v = if neg { 0u64.wrapping_sub(a) } else { a };
    Some(v as i64)
}

/// Builds the f64 nearest to `m * 2^exp2` (plus a sticky fraction below
/// `m`'s last bit when `sticky`), rounding half to even.
fn compose_float(mut m: u64, sticky: bool, mut exp2: i64) -> f64 {
    if m == 0 {
        return 0.0;
    }
    // Normalize so the top bit of m is bit 63.
    let lz = m.leading_zeros();
    m <<= lz;
    exp2 -= lz as i64;
    // Value = m * 2^exp2, with m in [2^63, 2^64): unbiased exponent e.
    let e = exp2 + 63;
    if e > 1023 {
        return f64::INFINITY;
    }
    // Number of low bits of m to drop: 11 for normals, more for subnormals.
    let drop: i64 = if e >= -1022 { 11 } else { 11 + (-1022 - e) };
    if drop >= 64 {
        // Far below the smallest subnormal, or exactly at half of it.
        if drop == 64 {
            // m represents a value in [0.5, 1) units of the smallest subnormal.
            let half = 1u64 << 63;
            let round_up = m > half || (m == half && sticky);
            return if round_up { f64::from_bits(1) } else { 0.0 };
        }
        return 0.0;
    }
    let drop = drop as u32;
    let kept = m >> drop;
    let rem = m & ((1u64 << drop) - 1);
    let half = 1u64 << (drop - 1);
    let mut q = kept;
    if rem > half || (rem == half && (sticky || (q & 1) == 1)) {
        q += 1;
    }
    // q now holds up to 54 bits; assemble.
    if e >= -1022 {
        let mut e = e;
        if q == 1u64 << 53 {
            q >>= 1;
            e += 1;
            if e > 1023 {
                return f64::INFINITY;
            }
        }
        let bits = (((e + 1023) as u64) << 52) | (q & ((1u64 << 52) - 1));
        f64::from_bits(bits)
    } else {
        // Subnormal (q may have rounded up into the smallest normal).
        f64::from_bits(q)
    }
}

/// Parses a hexadecimal float body (after the `0x`): `h*[.h*][p[+-]d+]`.
fn parse_hex_float(s: &[u8]) -> Option<f64> {
    let mut m: u64 = 0;
    let mut sticky = false;
    let mut exp: i64 = 0;
    let mut any_digit = false;
    let mut seen_dot = false;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'.' {
            if seen_dot {
                return None;
            }
            seen_dot = true;
        } else if let Some(d) = hex_val(c) {
            any_digit = true;
            if m >> 60 == 0 {
                m = m * 16 + d as u64;
                if seen_dot {
                    exp -= 4;
                }
            } else {
                sticky |= d != 0;
                if !seen_dot {
                    exp += 4;
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    if i < s.len() {
        if s[i] != b'p' && s[i] != b'P' {
            return None;
        }
        i += 1;
        let mut neg = false;
        if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
            neg = s[i] == b'-';
            i += 1;
        }
        let digits = &s[i..];
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut e: i64 = 0;
        for &c in digits {
            e = (e * 10 + (c - b'0') as i64).min(1 << 40);
        }
        exp += if neg { -e } else { e };
    }
    Some(compose_float(m, sticky, exp.clamp(-(1 << 41), 1 << 41)))
}

/// Lua's `l_str2d`: a float numeral (decimal or hex) with optional spaces.
pub fn str_to_float(s: &[u8]) -> Option<f64> {
    if s.iter().any(|&c| c == b'n' || c == b'N' || c == 0) {
        return None;
    }
    let t = trim_space(s);
    let (neg, body) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if body.len() >= 2 && body[0] == b'0' && (body[1] == b'x' || body[1] == b'X') {
        parse_hex_float(&body[2..])?
    } else {
        // Validate strtod's decimal syntax: d*[.d*][(e|E)[+-]d+] with a digit.
        let mut i = 0;
        let mut digits = 0;
        while i < body.len() && body[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
        if i < body.len() && body[i] == b'.' {
            i += 1;
            while i < body.len() && body[i].is_ascii_digit() {
                i += 1;
                digits += 1;
            }
        }
        if digits == 0 {
            return None;
        }
        if i < body.len() && (body[i] == b'e' || body[i] == b'E') {
            i += 1;
            if i < body.len() && (body[i] == b'+' || body[i] == b'-') {
                i += 1;
            }
            let start = i;
            while i < body.len() && body[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return None;
            }
        }
        if i != body.len() {
            return None;
        }
        std::str::from_utf8(body).ok()?.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Lua's `lua_stringtonumber` / `tonumber(s)`: integer if the string is an
/// integer numeral that fits, else a float, else `None`.  Strings with an
/// embedded NUL never convert.
pub fn str_to_number(s: &[u8]) -> Option<Number> {
    if s.contains(&0) {
        return None;
    }
    if let Some(i) = str_to_int(s) {
        return Some(Number::Int(i));
    }
    str_to_float(s).map(Number::Float)
}

/// `tonumber(s, base)` for `base` in 2..=36 (the caller raises
/// "bad argument #2 to 'tonumber' (base out of range)" otherwise): optional
/// spaces, optional `-`, one or more alphanumeric digits below `base`
/// (wrapping on overflow), optional spaces.
pub fn str_to_int_base(s: &[u8], base: u32) -> Option<i64> {
    if !(2..=36).contains(&base) || s.contains(&0) {
        return None;
    }
    let s = trim_space(s);
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &c in s {
        let d = (c as char).to_digit(36)?;
        if d >= base {
            return None;
        }
        n = n.wrapping_mul(base as u64).wrapping_add(d as u64);
    }
    Some(if neg { 0u64.wrapping_sub(n) } else { n } as i64)
}

/// Rounding mode for [`float_to_int`] (Lua's `F2Imod`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum F2I {
    /// Only floats with an exact integral value convert.
    Exact,
    /// Take the floor.
    Floor,
    /// Take the ceiling.
    Ceil,
}

/// Lua's `luaV_flttointns`: converts `f` to an integer in the given mode, or
/// `None` when the (rounded) value is outside the i64 range or NaN.
pub fn float_to_int(f: f64, mode: F2I) -> Option<i64> {
    let fl = f.floor();
    let v = if f != fl {
        match mode {
            F2I::Exact => return None,
            F2I::Floor => fl,
            F2I::Ceil => fl + 1.0,
        }
    } else {
        fl
    };
    // -2^63 <= v < 2^63
    if (-9223372036854775808.0..9223372036854775808.0).contains(&v) {
        Some(v as i64)
    } else {
        None
    }
}

/// Exact float to integer conversion (`math.tointeger`, table keys, and
/// "number has no integer representation" checks).
pub fn float_to_int_exact(f: f64) -> Option<i64> {
    float_to_int(f, F2I::Exact)
}

/// `luaL_checkinteger`-style conversion of a number: `Err` carries Lua's
/// message "number has no integer representation".
pub fn number_to_int(n: Number) -> Result<i64, &'static str> {
    match n {
        Number::Int(i) => Ok(i),
        Number::Float(f) => float_to_int_exact(f).ok_or("number has no integer representation"),
    }
}

#[cfg(test)]
#[path = "number_tests.rs"]
mod tests;
