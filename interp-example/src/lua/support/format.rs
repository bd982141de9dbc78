//! Number-to-string conversion and `string.format`, as lua5.4 on Linux.
//!
//! # What
//!
//! * [`float_to_string`] / [`int_to_string`] / [`number_to_string`]: the text
//!   `tostring` and string coercion produce for numbers (`%.14g` for floats,
//!   with `.0` appended when the result looks like an integer; `inf`, `-inf`,
//!   `nan`, `-nan` as glibc prints them).
//! * [`format`](fn@format): `string.format`, reading its arguments through the small
//!   [`FormatArgs`] trait the VM implements, and reporting errors as
//!   [`FormatError`] so the VM can raise them with its own error values.
//! * [`printf_float`] / [`printf_int`]: single C-printf conversions with a
//!   parsed [`Spec`], for other library code that needs them.
//!
//! # Why this approach
//!
//! Lua formats numbers by handing a C format string to the platform's
//! `snprintf`, so "what Lua prints" is really "what glibc's printf prints".
//! We reimplement the printf conversions instead of calling libc (no `unsafe`,
//! no locale dependence).  The digit generation is delegated to Rust's float
//! formatting with an explicit precision, which (like glibc) rounds the exact
//! binary value correctly with ties to even; on top of it we rebuild C's
//! layout rules: `%e` exponents with at least two digits, `%g`'s choice
//! between fixed and exponential notation and trailing-zero removal, `%a`
//! hex floats (including glibc's subnormal form `0x0.xxxp-1022` and its
//! un-normalized rounding carry `0x2.0p+0`), the `-+ #0` flags, width and
//! precision.  Lua's own validation of conversion specifications (which
//! flags each conversion accepts, at most two digits of width/precision, the
//! exact error messages) is reproduced in [`format`](fn@format).

use super::number::{float_to_int_exact, str_to_number, Number};

/// A parsed C conversion specification (flags, width, precision).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spec {
    /// `-`: left-justify.
    pub left: bool,
    /// `+`: always print a sign.
    pub plus: bool,
    /// ` `: space before non-negative numbers.
    pub space: bool,
    /// `#`: alternate form.
    pub alt: bool,
    /// `0`: pad with zeros.
    pub zero: bool,
    /// Minimum field width.
    pub width: usize,
    /// Precision, when given (`.` alone means 0).
    pub precision: Option<usize>,
}

impl Spec {
    /// Parses `flags width [. precision]` (the text between `%` and the
    /// conversion character).  Unknown characters are ignored.
    pub fn parse(s: &[u8]) -> Spec {
        let mut sp = Spec::default();
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'-' => sp.left = true,
                b'+' => sp.plus = true,
                b' ' => sp.space = true,
                b'#' => sp.alt = true,
                b'0' => sp.zero = true,
                _ => break,
            }
            i += 1;
        }
        let mut w = 0usize;
        while i < s.len() && s[i].is_ascii_digit() {
            w = (w * 10 + (s[i] - b'0') as usize).min(1 << 20);
            i += 1;
        }
        sp.width = w;
        if i < s.len() && s[i] == b'.' {
            i += 1;
            let mut p = 0usize;
            while i < s.len() && s[i].is_ascii_digit() {
                p = (p * 10 + (s[i] - b'0') as usize).min(1 << 20);
                i += 1;
            }
            sp.precision = Some(p);
        }
        sp
    }
}

/// Pads `body` (which begins with `prefix_len` bytes of sign/prefix) to the
/// spec's width: spaces on the left or right, or zeros after the prefix.
fn pad(spec: &Spec, body: Vec<u8>, prefix_len: usize, zero_ok: bool) -> Vec<u8> {
    if body.len() >= spec.width {
        return body;
    }
    let fill = spec.width - body.len();
    let mut out = Vec::with_capacity(spec.width);
    if spec.left {
        out.extend_from_slice(&body);
        out.resize(spec.width, b' ');
    } else if spec.zero && zero_ok {
        let split = prefix_len.min(body.len());
        out.extend_from_slice(&body[..split]);
        out.resize(out.len() + fill, b'0');
        out.extend_from_slice(&body[split..]);
    } else {
        out.resize(fill, b' ');
        out.extend_from_slice(&body);
    }
    out
}

/// C printf integer conversion: `conv` is one of `d i u o x X`.  `%u`, `%o`
/// and `%x` print the two's-complement bits of `n` as unsigned.
pub fn printf_int(spec: &Spec, n: i64, conv: u8) -> Vec<u8> {
    let signed = conv == b'd' || conv == b'i';
    let (neg, mag) = if signed {
        (n < 0, n.unsigned_abs())
    } else {
        (false, n as u64)
    };
    let mut digits = match conv {
        b'o' => format!("{mag:o}"),
        b'x' => format!("{mag:x}"),
        b'X' => format!("{mag:X}"),
        _ => format!("{mag}"),
    }
    .into_bytes();
    if let Some(p) = spec.precision {
        if p == 0 && mag == 0 {
            digits.clear();
        }
        if digits.len() < p {
            let mut z = vec![b'0'; p - digits.len()];
            z.extend_from_slice(&digits);
            digits = z;
        }
    }
    let mut prefix: Vec<u8> = Vec::new();
    if signed {
        if neg {
            prefix.push(b'-');
        } else if spec.plus {
            prefix.push(b'+');
        } else if spec.space {
            prefix.push(b' ');
        }
    }
    if spec.alt {
        match conv {
            b'o' if digits.first() != Some(&b'0') => digits.insert(0, b'0'),
            b'x' if mag != 0 => prefix.extend_from_slice(b"0x"),
            b'X' if mag != 0 => prefix.extend_from_slice(b"0X"),
            _ => {}
        }
    }
    let plen = prefix.len();
    prefix.extend_from_slice(&digits);
    pad(spec, prefix, plen, spec.precision.is_none())
}

/// Rewrites Rust's `1.5e-7` exponent suffix into C's `1.5e-07`.
fn c_exponent(rust: &str, upper: bool) -> String {
    let (mant, exp) = rust.split_once('e').unwrap_or((rust, "0"));
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    let e = if upper { 'E' } else { 'e' };
    if digits.len() < 2 {
        format!("{mant}{e}{sign}0{digits}")
    } else {
        format!("{mant}{e}{sign}{digits}")
    }
}

fn fmt_e(x: f64, prec: usize, alt: bool, upper: bool) -> String {
    let mut s = format!("{:.*e}", prec, x);
    if alt && prec == 0 {
        if let Some(pos) = s.find('e') {
            s.insert(pos, '.');
        }
    }
    c_exponent(&s, upper)
}

fn fmt_f(x: f64, prec: usize, alt: bool) -> String {
    let mut s = format!("{:.*}", prec, x);
    if alt && prec == 0 {
        s.push('.');
    }
    s
}

/// Removes trailing zeros of the fraction (and a bare `.`), as `%g` does.
fn strip_frac_zeros(s: &str) -> String {
    let (mant, rest) = match s.find(['e', 'E']) {
        Some(p) => (&s[..p], &s[p..]),
        None => (s, ""),
    };
    if !mant.contains('.') {
        return s.to_string();
    }
    let m = mant.trim_end_matches('0').trim_end_matches('.');
    format!("{m}{rest}")
}

fn fmt_g(x: f64, prec: Option<usize>, alt: bool, upper: bool) -> String {
    let p = match prec {
        None => 6,
        Some(0) => 1,
        Some(p) => p,
    };
    let exp: i64 = if x == 0.0 {
        0
    } else {
        let e = format!("{:.*e}", p - 1, x);
        e.split_once('e')
            .and_then(|(_, d)| d.parse().ok())
            .unwrap_or(0)
    };
    let s = if (p as i64) > exp && exp >= -4 {
        fmt_f(x, (p as i64 - 1 - exp) as usize, alt)
    } else {
        fmt_e(x, p - 1, alt, upper)
    };
    if alt {
        s
    } else {
        strip_frac_zeros(&s)
    }
}

fn fmt_a(x: f64, prec: Option<usize>, alt: bool, upper: bool) -> String {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (lead, exp) = if biased == 0 {
        (0u64, if frac == 0 { 0 } else { -1022 })
    } else {
        (1u64, biased - 1023)
    };
    // 13 hex digits of fraction.
    let mut lead = lead;
    let mut digits: Vec<u8> = (0..13)
        .rev()
        .map(|i| ((frac >> (i * 4)) & 0xf) as u8)
        .collect();
    match prec {
        None => {
            while digits.last() == Some(&0) {
                digits.pop();
            }
        }
        Some(p) if p < 13 => {
            // Round to p hex digits, ties to even.
            let keep_bits = 4 * p as u32;
            let drop = 52 - keep_bits;
            let mut q = frac >> drop;
            let rem = frac & ((1u64 << drop) - 1);
            let half = 1u64 << (drop - 1);
            let last_even = if p == 0 { lead & 1 == 0 } else { q & 1 == 0 };
            if rem > half || (rem == half && !last_even) {
                q += 1;
                if q >> keep_bits != 0 {
                    q &= (1u64 << keep_bits) - 1;
                    lead += 1;
                }
            }
            digits = (0..p).rev().map(|i| ((q >> (i * 4)) & 0xf) as u8).collect();
        }
        Some(p) => digits.resize(p, 0),
    }
    let hex = |d: u8| -> char {
        let c = char::from_digit(d as u32, 16).unwrap_or('0');
        if upper {
            c.to_ascii_uppercase()
        } else {
            c
        }
    };
    let mut s = String::new();
    s.push_str(if upper { "0X" } else { "0x" });
    s.push(hex(lead as u8));
    if !digits.is_empty() || alt {
        s.push('.');
    }
    for d in digits {
        s.push(hex(d));
    }
    s.push(if upper { 'P' } else { 'p' });
    if exp >= 0 {
        s.push('+');
    }
    s.push_str(&exp.to_string());
    s
}

/// C printf floating conversion: `conv` is one of `e E f F g G a A`
/// (`string.format` itself rejects `%F`, as Lua 5.4 does).
pub fn printf_float(spec: &Spec, x: f64, conv: u8) -> Vec<u8> {
    let upper = conv.is_ascii_uppercase();
    let neg = x.is_sign_negative();
    let mut out: Vec<u8> = Vec::new();
    if neg {
        out.push(b'-');
    } else if spec.plus {
        out.push(b'+');
    } else if spec.space {
        out.push(b' ');
    }
    let sign_len = out.len();
    let a = x.abs();
    if !x.is_finite() {
        let w = if x.is_nan() { "nan" } else { "inf" };
        let w = if upper {
            w.to_ascii_uppercase()
        } else {
            w.to_string()
        };
        out.extend_from_slice(w.as_bytes());
        return pad(spec, out, sign_len, false);
    }
    let body = match conv.to_ascii_lowercase() {
        b'e' => fmt_e(a, spec.precision.unwrap_or(6), spec.alt, upper),
        b'f' => fmt_f(a, spec.precision.unwrap_or(6), spec.alt),
        b'g' => fmt_g(a, spec.precision, spec.alt, upper),
        _ => fmt_a(a, spec.precision, spec.alt, upper),
    };
    out.extend_from_slice(body.as_bytes());
    let prefix = if conv.eq_ignore_ascii_case(&b'a') {
        sign_len + 2
    } else {
        sign_len
    };
    pad(spec, out, prefix, true)
}

/// Lua's float `tostring`: `%.14g`, plus `.0` if the result looks like an
/// integer; `inf`, `-inf`, `nan` or `-nan` (by the sign bit) otherwise.
pub fn float_to_string(f: f64) -> String {
    let s = printf_float(
        &Spec {
            precision: Some(14),
            ..Spec::default()
        },
        f,
        b'g',
    );
    let mut s = String::from_utf8(s).unwrap_or_default();
    if s.bytes().all(|c| c == b'-' || c.is_ascii_digit()) {
        s.push_str(".0");
    }
    s
}

/// Lua's integer `tostring` (`%lld`).
pub fn int_to_string(i: i64) -> String {
    i.to_string()
}

/// `tostring` of a Lua number.
pub fn number_to_string(n: Number) -> String {
    match n {
        Number::Int(i) => int_to_string(i),
        Number::Float(f) => float_to_string(f),
    }
}

/// Appends `s` quoted as `%q` does: `"`, `\` and newline are escaped with a
/// backslash (newline as backslash + real newline), other control characters
/// as `\ddd` (three digits only when a digit follows), bytes >= 128 raw.
pub fn quote_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for (i, &c) in s.iter().enumerate() {
        if c == b'"' || c == b'\\' || c == b'\n' {
            out.push(b'\\');
            out.push(c);
        } else if c < 32 || c == 127 {
            let next_digit = s.get(i + 1).is_some_and(u8::is_ascii_digit);
            let esc = if next_digit {
                format!("\\{c:03}")
            } else {
                format!("\\{c}")
            };
            out.extend_from_slice(esc.as_bytes());
        } else {
            out.push(c);
        }
    }
    out.push(b'"');
}

/// `%q` of an integer (`math.mininteger` is written `0x8000000000000000`).
pub fn quote_int(i: i64) -> String {
    if i == i64::MIN {
        "0x8000000000000000".into()
    } else {
        i.to_string()
    }
}

/// `%q` of a float: `1e9999`, `-1e9999`, `(0/0)`, or a `%a` hex float.
pub fn quote_float(f: f64) -> String {
    if f == f64::INFINITY {
        "1e9999".into()
    } else if f == f64::NEG_INFINITY {
        "-1e9999".into()
    } else if f.is_nan() {
        "(0/0)".into()
    } else {
        String::from_utf8(printf_float(&Spec::default(), f, b'a')).unwrap_or_default()
    }
}

/// One argument of `string.format`, as the VM sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FmtArg<'a> {
    Int(i64),
    Float(f64),
    Str(&'a [u8]),
    Nil,
    Bool(bool),
    /// Any other value; the name used in "number expected, got NAME"
    /// (`luaL_typeerror` rules: the `__name` metafield if it is a string,
    /// "light userdata", or the plain type name).
    Other(&'a str),
}

/// What `string.format` needs from the VM.  Argument indices are Lua's
/// 1-based stack indices: the format string is argument 1, so the first
/// value is argument 2.
pub trait FormatArgs {
    /// The VM's error type (raised by `__tostring` metamethods).
    type Error;
    /// Number of arguments including the format string (`lua_gettop`).
    fn top(&self) -> usize;
    /// Argument `n` (2 <= n <= top).
    fn arg(&self, n: usize) -> FmtArg<'_>;
    /// `luaL_tolstring` of argument `n` (honours `__tostring`/`__name`).
    fn tostring(&mut self, n: usize) -> Result<Vec<u8>, Self::Error>;
    /// `lua_topointer` of argument `n` for `%p` (None for values without
    /// identity: numbers, booleans, nil).
    fn pointer(&self, _n: usize) -> Option<usize> {
        None
    }
}

/// Errors of [`format`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormatError<E> {
    /// `luaL_argerror`: the VM raises
    /// "bad argument #ARG to 'format' (MSG)".
    BadArgument { arg: usize, msg: String },
    /// `luaL_error`: the VM raises MSG as is.
    Message(String),
    /// An error raised by the VM while converting an argument.
    Vm(E),
}

impl<E> FormatError<E> {
    /// The Lua error message (for the two non-VM variants), using `fname`
    /// as the function name ("format").
    pub fn message(&self, fname: &str) -> Option<String> {
        match self {
            FormatError::BadArgument { arg, msg } => {
                Some(format!("bad argument #{arg} to '{fname}' ({msg})"))
            }
            FormatError::Message(m) => Some(m.clone()),
            FormatError::Vm(_) => None,
        }
    }
}

const FLAGS_F: &[u8] = b"-+#0 ";
const FLAGS_X: &[u8] = b"-#0";
const FLAGS_I: &[u8] = b"-+0 ";
const FLAGS_U: &[u8] = b"-0";
const FLAGS_C: &[u8] = b"-";
/// Lua's `MAX_FORMAT`: the specification (with `%`) must be shorter than 22.
const MAX_SPEC: usize = 32 - 10;

fn type_name(a: &FmtArg<'_>) -> String {
    match a {
        FmtArg::Int(_) | FmtArg::Float(_) => "number".into(),
        FmtArg::Str(_) => "string".into(),
        FmtArg::Nil => "nil".into(),
        FmtArg::Bool(_) => "boolean".into(),
        FmtArg::Other(n) => n.to_string(),
    }
}

fn to_number(a: &FmtArg<'_>) -> Option<Number> {
    match *a {
        FmtArg::Int(i) => Some(Number::Int(i)),
        FmtArg::Float(f) => Some(Number::Float(f)),
        FmtArg::Str(s) => str_to_number(s),
        _ => None,
    }
}

fn check_integer<E>(a: &FmtArg<'_>, n: usize) -> Result<i64, FormatError<E>> {
    match to_number(a) {
        Some(Number::Int(i)) => Ok(i),
        Some(Number::Float(f)) => float_to_int_exact(f).ok_or_else(|| FormatError::BadArgument {
            arg: n,
            msg: "number has no integer representation".into(),
        }),
        None => Err(FormatError::BadArgument {
            arg: n,
            msg: format!("number expected, got {}", type_name(a)),
        }),
    }
}

fn check_number<E>(a: &FmtArg<'_>, n: usize) -> Result<f64, FormatError<E>> {
    match to_number(a) {
        Some(Number::Int(i)) => Ok(i as f64),
        Some(Number::Float(f)) => Ok(f),
        None => Err(FormatError::BadArgument {
            arg: n,
            msg: format!("number expected, got {}", type_name(a)),
        }),
    }
}

/// Lua's `checkformat`: `form` is the whole specification including `%` and
/// the conversion character.
fn check_spec<E>(form: &[u8], flags: &[u8], precision: bool) -> Result<(), FormatError<E>> {
    let at = |i: usize| form.get(i).copied().unwrap_or(0);
    let mut i = 1;
    while i < form.len() && flags.contains(&form[i]) {
        i += 1;
    }
    let two_digits = |mut i: usize| {
        if at(i).is_ascii_digit() {
            i += 1;
            if at(i).is_ascii_digit() {
                i += 1;
            }
        }
        i
    };
    if at(i) != b'0' {
        i = two_digits(i);
        if at(i) == b'.' && precision {
            i = two_digits(i + 1);
        }
    }
    if !at(i).is_ascii_alphabetic() {
        return Err(FormatError::Message(format!(
            "invalid conversion specification: '{}'",
            String::from_utf8_lossy(form)
        )));
    }
    Ok(())
}

/// `string.format(fmt, ...)`.  Arguments are fetched through `args`
/// (argument 1 is `fmt` itself).  Returns the formatted bytes or the error
/// Lua would raise.
pub fn format<A: FormatArgs>(fmt: &[u8], args: &mut A) -> Result<Vec<u8>, FormatError<A::Error>> {
    let top = args.top();
    let mut out = Vec::with_capacity(fmt.len() + 16);
    let mut arg = 1usize;
    let mut i = 0usize;
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        if fmt.get(i) == Some(&b'%') {
            out.push(b'%');
            i += 1;
            continue;
        }
        arg += 1;
        if arg > top {
            return Err(FormatError::BadArgument {
                arg,
                msg: "no value".into(),
            });
        }
        // Span of flags/digits/dots, then the conversion character.
        let span = fmt[i..]
            .iter()
            .take_while(|c| b"-+#0 123456789.".contains(c))
            .count();
        if span + 1 >= MAX_SPEC {
            return Err(FormatError::Message("invalid format (too long)".into()));
        }
        let conv = fmt.get(i + span).copied().unwrap_or(0);
        let mut form = vec![b'%'];
        form.extend_from_slice(&fmt[i..i + span]);
        if i + span < fmt.len() {
            form.push(conv);
        }
        let spec = Spec::parse(&fmt[i..i + span]);
        i += span + 1;
        let a = args.arg(arg);
        match conv {
            b'c' => {
                check_spec(&form, FLAGS_C, false)?;
                let v = check_integer(&a, arg)?;
                out.extend(pad(&spec, vec![v as u8], 0, false));
            }
            b'd' | b'i' | b'u' | b'o' | b'x' | b'X' => {
                let v = check_integer(&a, arg)?;
                let flags = match conv {
                    b'd' | b'i' => FLAGS_I,
                    b'u' => FLAGS_U,
                    _ => FLAGS_X,
                };
                check_spec(&form, flags, true)?;
                out.extend(printf_int(&spec, v, conv));
            }
            b'a' | b'A' => {
                check_spec(&form, FLAGS_F, true)?;
                let v = check_number(&a, arg)?;
                out.extend(printf_float(&spec, v, conv));
            }
            // Lua 5.4 has no '%F'.
            b'f' | b'e' | b'E' | b'g' | b'G' => {
                let v = check_number(&a, arg)?;
                check_spec(&form, FLAGS_F, true)?;
                out.extend(printf_float(&spec, v, conv));
            }
            b'p' => {
                let p = args.pointer(arg);
                check_spec(&form, FLAGS_C, false)?;
                let body = match p {
                    Some(p) => format!("{p:#x}").into_bytes(),
                    None => b"(null)".to_vec(),
                };
                out.extend(pad(&spec, body, 0, false));
            }
            b'q' => {
                if form.len() > 2 {
                    return Err(FormatError::Message(
                        "specifier '%q' cannot have modifiers".into(),
                    ));
                }
                match a {
                    FmtArg::Str(s) => quote_string(s, &mut out),
                    FmtArg::Int(v) => out.extend_from_slice(quote_int(v).as_bytes()),
                    FmtArg::Float(f) => out.extend_from_slice(quote_float(f).as_bytes()),
                    FmtArg::Nil | FmtArg::Bool(_) => {
                        let s = args.tostring(arg).map_err(FormatError::Vm)?;
                        out.extend_from_slice(&s);
                    }
                    FmtArg::Other(_) => {
                        return Err(FormatError::BadArgument {
                            arg,
                            msg: "value has no literal form".into(),
                        })
                    }
                }
            }
            b's' => {
                let s = args.tostring(arg).map_err(FormatError::Vm)?;
                if form.len() == 2 {
                    out.extend_from_slice(&s);
                } else {
                    if s.contains(&0) {
                        return Err(FormatError::BadArgument {
                            arg,
                            msg: "string contains zeros".into(),
                        });
                    }
                    check_spec(&form, FLAGS_C, true)?;
                    if spec.precision.is_none() && s.len() >= 100 {
                        out.extend_from_slice(&s);
                    } else {
                        let body = match spec.precision {
                            Some(p) if p < s.len() => s[..p].to_vec(),
                            _ => s,
                        };
                        out.extend(pad(&spec, body, 0, false));
                    }
                }
            }
            _ => {
                return Err(FormatError::Message(format!(
                    "invalid conversion '{}' to 'format'",
                    String::from_utf8_lossy(&form)
                )));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
