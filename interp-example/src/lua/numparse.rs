//! String → number conversion (lexer numerals, `tonumber`, arithmetic
//! coercion), following lua5.4's `luaO_str2num`.
//!
//! Temporary local implementation until `support/` provides the canonical
//! one (then this delegates to it).

use super::value::Value;

/// Converts a whole string (surrounding whitespace allowed) to a number.
pub fn str_to_number(s: &[u8]) -> Option<Value> {
    let s = trim(s);
    if s.is_empty() {
        return None;
    }
    if let Some(i) = str_to_int(s) {
        return Some(Value::Int(i));
    }
    str_to_float(s).map(Value::Num)
}

fn trim(s: &[u8]) -> &[u8] {
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let a = s.iter().position(|c| !ws(c)).unwrap_or(s.len());
    let b = s.iter().rposition(|c| !ws(c)).map(|p| p + 1).unwrap_or(a);
    &s[a..b.max(a)]
}

fn str_to_int(s: &[u8]) -> Option<i64> {
    let (neg, mut r) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: u64 = 0;
    if r.len() > 2 && r[0] == b'0' && (r[1] == b'x' || r[1] == b'X') {
        r = &r[2..];
        for &c in r {
            let d = (c as char).to_digit(16)? as u64;
            v = v.wrapping_mul(16).wrapping_add(d);
        }
    } else {
        if r.is_empty() {
            return None;
        }
        for &c in r {
            if !c.is_ascii_digit() {
                return None;
            }
            let d = (c - b'0') as u64;
            // overflow → not an integer (becomes a float)
            if v > (i64::MAX as u64 - d) / 10 + if neg { 1 } else { 0 } {
                let nv = v.checked_mul(10).and_then(|x| x.checked_add(d));
                match nv {
                    Some(nv) if neg && nv == i64::MAX as u64 + 1 => {
                        v = nv;
                        continue;
                    }
                    _ => return None,
                }
            }
            v = v * 10 + d;
        }
        if !neg && v > i64::MAX as u64 {
            return None;
        }
    }
    Some(if neg {
        (v as i64).wrapping_neg()
    } else {
        v as i64
    })
}

fn str_to_float(s: &[u8]) -> Option<f64> {
    let (neg, r) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if r.len() > 1 && r[0] == b'0' && (r[1] == b'x' || r[1] == b'X') {
        hex_float(&r[2..])?
    } else {
        // reject things Rust accepts but Lua does not ("inf", "nan", "1_0")
        if !r
            .iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        if !r.iter().any(|c| c.is_ascii_digit()) {
            return None;
        }
        std::str::from_utf8(r).ok()?.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn hex_float(r: &[u8]) -> Option<f64> {
    let mut m: f64 = 0.0;
    let mut exp: i64 = 0;
    let mut any = false;
    let mut i = 0;
    let mut seen_dot = false;
    while i < r.len() {
        let c = r[i];
        if c == b'.' {
            if seen_dot {
                return None;
            }
            seen_dot = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            m = m * 16.0 + d as f64;
            if seen_dot {
                exp -= 4;
            }
            any = true;
        } else {
            break;
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if i < r.len() {
        if r[i] != b'p' && r[i] != b'P' {
            return None;
        }
        i += 1;
        let (eneg, rest) = match r.get(i) {
            Some(b'-') => (true, &r[i + 1..]),
            Some(b'+') => (false, &r[i + 1..]),
            _ => (false, &r[i..]),
        };
        if rest.is_empty() || !rest.iter().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let mut e: i64 = 0;
        for &c in rest {
            e = (e * 10 + (c - b'0') as i64).min(100_000);
        }
        exp += if eneg { -e } else { e };
    }
    Some(m * 2f64.powi(exp.clamp(-10000, 10000) as i32))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parse() {
        assert!(matches!(str_to_number(b" 10 "), Some(Value::Int(10))));
        assert!(matches!(str_to_number(b"0x10"), Some(Value::Int(16))));
        assert!(matches!(
            str_to_number(b"0xffffffffffffffff"),
            Some(Value::Int(-1))
        ));
        assert!(matches!(
            str_to_number(b"9223372036854775808"),
            Some(Value::Num(_))
        ));
        assert!(matches!(
            str_to_number(b"-9223372036854775808"),
            Some(Value::Int(i64::MIN))
        ));
        assert!(matches!(str_to_number(b"1e2"), Some(Value::Num(f)) if f == 100.0));
        assert!(str_to_number(b"inf").is_none());
        assert!(str_to_number(b"1e").is_none());
        assert!(matches!(str_to_number(b"0x.8p1"), Some(Value::Num(f)) if f == 1.0));
    }
}
