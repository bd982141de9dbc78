//! Number → string conversion used by `tostring`/`print`/concat.
//!
//! Temporary local implementation of `%.14g` until `support/` provides the
//! canonical one (then this delegates to it).

/// Lua's `%.14g` plus `.0` for integral floats (`LUAI_NUMFFORMAT`).
pub fn fmt_float(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf".into() } else { "inf".into() };
    }
    let mut s = fmt_g(f, 14);
    if !s
        .bytes()
        .any(|c| c == b'.' || c == b'e' || c == b'n' || c == b'i')
    {
        s.push_str(".0");
    }
    s
}

/// C's `%.{prec}g` for finite values.
pub fn fmt_g(f: f64, prec: usize) -> String {
    let prec = prec.max(1);
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let e = format!("{:.*e}", prec - 1, f);
    let (mant, exp) = e.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    if exp < -4 || exp >= prec as i32 {
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", mant, sign, exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{:.*}", decimals, f)).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        let s = s.trim_end_matches('0');
        s.trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn g14() {
        assert_eq!(fmt_float(5.0), "5.0");
        assert_eq!(fmt_float(0.1), "0.1");
        assert_eq!(fmt_float(1e15), "1e+15");
        assert_eq!(fmt_float(1e100), "1e+100");
        assert_eq!(fmt_float(3.14159265358979), "3.1415926535898");
        assert_eq!(fmt_float(-0.0), "-0.0");
        assert_eq!(fmt_float(1e-5), "1e-05");
        assert_eq!(fmt_float(123456.0), "123456.0");
        assert_eq!(fmt_float(2f64.powi(63)), "9.2233720368548e+18");
    }
}
