//! `string` library and the string metatable (`("x"):upper()`).
//!
//! Pattern matching and `string.format` are delegated to
//! [`super::support::pattern`] and [`super::support::format`]; this module
//! only adapts arguments and results to VM values.

use super::heap::Gc;
use super::lib_base::*;
use super::support::format::{self as sfmt, FmtArg, FormatArgs, FormatError};
use super::support::pattern::{self, Capture, Captures};
use super::value::*;
use super::vm::{LResult, LuaError, Vm, R};

pub fn open(vm: &mut Vm) {
    let t = vm.new_table(0, 24);
    let g = vm.globals;
    set_field(vm, g, "string", Value::Table(t));
    reg_fn(vm, t, "len", str_len);
    reg_fn(vm, t, "sub", str_sub);
    reg_fn(vm, t, "upper", str_upper);
    reg_fn(vm, t, "lower", str_lower);
    reg_fn(vm, t, "rep", str_rep);
    reg_fn(vm, t, "reverse", str_reverse);
    reg_fn(vm, t, "byte", str_byte);
    reg_fn(vm, t, "char", str_char);
    reg_fn(vm, t, "format", str_format);
    reg_fn(vm, t, "find", str_find);
    reg_fn(vm, t, "match", str_match);
    reg_fn(vm, t, "gmatch", str_gmatch);
    reg_fn(vm, t, "gsub", str_gsub);
    let mt = vm.new_table(0, 2);
    set_field(vm, mt, "__index", Value::Table(t));
    vm.string_meta = Some(mt);
}

fn bytes(s: Gc<LStr>) -> &'static [u8] {
    let b: &[u8] = &s.get().bytes;
    // SAFETY: the string object is rooted (argument slot) for the whole
    // native call and the heap never frees or moves it during that time.
    unsafe { std::mem::transmute::<&[u8], &'static [u8]>(b) }
}

/// Lua's `posrelat` for `sub`/`byte`: negative from the end.
fn posrel_start(pos: i64, len: usize) -> usize {
    let len = len as i64;
    if pos > 0 {
        pos as usize
    } else if pos == 0 || pos < -len {
        1
    } else {
        (len + pos + 1) as usize
    }
}

fn posrel_end(pos: i64, len: usize) -> usize {
    let l = len as i64;
    if pos > l {
        len
    } else if pos >= 0 {
        pos as usize
    } else if pos < -l {
        0
    } else {
        (l + pos + 1) as usize
    }
}

fn str_len(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let s = check_str(vm, base, n, 0, "len")?;
    Ok(R::One(Value::Int(s.get().bytes.len() as i64)))
}

fn str_sub(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let s = check_str(vm, base, n, 0, "sub")?;
    let i = opt_int(vm, base, n, 1, "sub", 1)?;
    let j = opt_int(vm, base, n, 2, "sub", -1)?;
    let b = bytes(s);
    let st = posrel_start(i, b.len());
    let en = posrel_end(j, b.len());
    if st > en {
        return Ok(R::One(vm.str(b"")));
    }
    Ok(R::One(vm.str(&b[st - 1..en])))
}

fn str_upper(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let s = check_str(vm, base, n, 0, "upper")?;
    let v: Vec<u8> = s
        .get()
        .bytes
        .iter()
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Ok(R::One(vm.str(&v)))
}

fn str_lower(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let s = check_str(vm, base, n, 0, "lower")?;
    let v: Vec<u8> = s
        .get()
        .bytes
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Ok(R::One(vm.str(&v)))
}

fn str_rep(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let s = check_str(vm, base, n, 0, "rep")?;
    let cnt = check_int(vm, base, n, 1, "rep")?;
    let sep = opt_str(vm, base, n, 2, "rep")?;
    if cnt <= 0 {
        return Ok(R::One(vm.str(b"")));
    }
    let b = bytes(s);
    let sepb: &[u8] = match sep {
        Some(x) => bytes(x),
        None => b"",
    };
    let total = (b.len() as u128 + sepb.len() as u128) * cnt as u128;
    if total >= 0x7fff_ffff {
        return Err(vm.rt_error("resulting string too large"));
    }
    let mut out = Vec::with_capacity(total as usize);
    for k in 0..cnt {
        out.extend_from_slice(b);
        if k + 1 < cnt {
            out.extend_from_slice(sepb);
        }
    }
    Ok(R::One(vm.str(&out)))
}

fn str_reverse(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let s = check_str(vm, base, n, 0, "reverse")?;
    let mut v = s.get().bytes.to_vec();
    v.reverse();
    Ok(R::One(vm.str(&v)))
}

fn str_byte(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let s = check_str(vm, base, n, 0, "byte")?;
    let i = opt_int(vm, base, n, 1, "byte", 1)?;
    let j = opt_int(vm, base, n, 2, "byte", i)?;
    let b = bytes(s);
    let st = posrel_start(i, b.len());
    let en = posrel_end(j, b.len());
    if st > en {
        return Ok(R::Zero);
    }
    if en - st >= 1_000_000 {
        return Err(vm.rt_error("string slice too long"));
    }
    if st == en {
        return Ok(R::One(Value::Int(b[st - 1] as i64)));
    }
    Ok(R::Many(
        b[st - 1..en]
            .iter()
            .map(|&c| Value::Int(c as i64))
            .collect(),
    ))
}

fn str_char(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let c = check_int(vm, base, n, i, "char")?;
        if !(0..=255).contains(&c) {
            return Err(arg_error(vm, i, "char", "value out of range"));
        }
        out.push(c as u8);
    }
    Ok(R::One(vm.str(&out)))
}

struct FmtCtx<'a> {
    vm: &'a mut Vm,
    base: usize,
    n: usize,
}

impl FormatArgs for FmtCtx<'_> {
    type Error = LuaError;
    fn top(&self) -> usize {
        self.n
    }
    fn arg(&self, k: usize) -> FmtArg<'_> {
        let v = arg(self.vm, self.base, self.n, k - 1);
        match v {
            Value::Int(i) => FmtArg::Int(i),
            Value::Num(f) => FmtArg::Float(f),
            Value::Str(s) => FmtArg::Str(bytes(s)),
            Value::Nil => FmtArg::Nil,
            Value::Bool(b) => FmtArg::Bool(b),
            _ => FmtArg::Other(v.type_name()),
        }
    }
    fn tostring(&mut self, k: usize) -> Result<Vec<u8>, LuaError> {
        let v = arg(self.vm, self.base, self.n, k - 1);
        let s = self.vm.tostring(v)?;
        Ok(s.as_str().unwrap_or(b"").to_vec())
    }
    fn pointer(&self, k: usize) -> Option<usize> {
        match arg(self.vm, self.base, self.n, k - 1) {
            Value::Table(t) => Some(t.addr()),
            Value::LFn(f) => Some(f.addr()),
            Value::NFn(f) => Some(f.addr()),
            Value::Str(s) => Some(s.addr()),
            _ => None,
        }
    }
}

fn str_format(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let f = check_str(vm, base, n, 0, "format")?;
    let fb = bytes(f);
    let mut ctx = FmtCtx { vm, base, n };
    match sfmt::format(fb, &mut ctx) {
        Ok(out) => Ok(R::One(vm.str(&out))),
        Err(FormatError::Vm(e)) => Err(e),
        Err(e) => {
            let name = if vm.c_caller {
                vm.qualified_name("format")
            } else {
                "format".to_string()
            };
            let m = e.message(&name).unwrap_or_default();
            Err(vm.rt_error(&m))
        }
    }
}

fn cap_value(vm: &mut Vm, src: &[u8], c: Capture) -> Value {
    match c {
        Capture::Str { start, end } => vm.str(&src[start..end]),
        Capture::Position(p) => Value::Int(p),
    }
}

fn str_find(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let s = check_str(vm, base, n, 0, "find")?;
    let p = check_str(vm, base, n, 1, "find")?;
    let init = opt_int(vm, base, n, 2, "find", 1)?;
    let plain = arg(vm, base, n, 3).truthy();
    let (sb, pb) = (bytes(s), bytes(p));
    match pattern::find(sb, pb, init, plain) {
        Ok(None) => Ok(R::One(Value::Nil)),
        Ok(Some(r)) => {
            let mut v = vec![Value::Int(r.start), Value::Int(r.end)];
            for c in r.captures {
                v.push(cap_value(vm, sb, c));
            }
            Ok(R::Many(v))
        }
        Err(m) => Err(vm.rt_error(&m)),
    }
}

fn str_match(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let s = check_str(vm, base, n, 0, "match")?;
    let p = check_str(vm, base, n, 1, "match")?;
    let init = opt_int(vm, base, n, 2, "match", 1)?;
    let (sb, pb) = (bytes(s), bytes(p));
    match pattern::str_match(sb, pb, init) {
        Ok(None) => Ok(R::One(Value::Nil)),
        Ok(Some(caps)) => {
            if caps.len() == 1 {
                return Ok(R::One(cap_value(vm, sb, caps[0])));
            }
            let v = caps.into_iter().map(|c| cap_value(vm, sb, c)).collect();
            Ok(R::Many(v))
        }
        Err(m) => Err(vm.rt_error(&m)),
    }
}

/// gmatch iterator: upvalues = [subject, pattern, pos, last_match(-1 = none)].
fn gmatch_aux(vm: &mut Vm, _base: usize, _n: usize) -> LResult<R> {
    // the running native closure is at stack[base-1]
    let me = match vm.stack[_base - 1] {
        Value::NFn(f) => f,
        _ => return Ok(R::One(Value::Nil)),
    };
    let ups = &me.get().upvals;
    let (s, p) = match (ups[0], ups[1]) {
        (Value::Str(s), Value::Str(p)) => (s, p),
        _ => return Ok(R::One(Value::Nil)),
    };
    let pos = match ups[2] {
        Value::Int(i) => i as usize,
        _ => 0,
    };
    let last = match ups[3] {
        Value::Int(i) if i >= 0 => Some(i as usize),
        _ => None,
    };
    let (sb, pb) = (bytes(s), bytes(p));
    let mut st = pos;
    while st <= sb.len() {
        match pattern::match_here(sb, pb, st) {
            Err(m) => return Err(vm.rt_error(&m)),
            Ok(Some(c)) if Some(c.end) != last => {
                let u = &mut me.get_mut().upvals;
                u[2] = Value::Int(c.end as i64);
                u[3] = Value::Int(c.end as i64);
                return captures_result(vm, sb, &c);
            }
            _ => st += 1,
        }
    }
    me.get_mut().upvals[2] = Value::Int(sb.len() as i64 + 1);
    Ok(R::Zero)
}

fn captures_result(vm: &mut Vm, sb: &[u8], c: &Captures) -> LResult<R> {
    match c.values() {
        Ok(vals) => {
            if vals.len() == 1 {
                return Ok(R::One(cap_value(vm, sb, vals[0])));
            }
            Ok(R::Many(
                vals.into_iter().map(|x| cap_value(vm, sb, x)).collect(),
            ))
        }
        Err(m) => Err(vm.rt_error(&m)),
    }
}

fn str_gmatch(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let s = check_str(vm, base, n, 0, "gmatch")?;
    let p = check_str(vm, base, n, 1, "gmatch")?;
    let init = opt_int(vm, base, n, 2, "gmatch", 1)?;
    let len = s.get().bytes.len();
    let pos = pattern::resolve_init(init, len).unwrap_or(len + 1);
    let f = vm.heap.alloc_nclosure(NClosure {
        f: gmatch_aux,
        name: "gmatch_aux",
        upvals: vec![
            Value::Str(s),
            Value::Str(p),
            Value::Int(pos as i64),
            Value::Int(-1),
        ],
    });
    Ok(R::One(Value::NFn(f)))
}

fn str_gsub(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let s = check_str(vm, base, n, 0, "gsub")?;
    let p = check_str(vm, base, n, 1, "gsub")?;
    let repl = arg(vm, base, n, 2);
    let max_n = if arg(vm, base, n, 3).is_nil() {
        None
    } else {
        Some(check_int(vm, base, n, 3, "gsub")?)
    };
    let (sb, pb) = (bytes(s), bytes(p));
    let r = match repl {
        Value::Str(_) | Value::Int(_) | Value::Num(_) => {
            let rs = check_str(vm, base, n, 2, "gsub")?;
            let rb = bytes(rs);
            pattern::gsub_str(sb, pb, rb, max_n).map_err(|m| vm.rt_error(&m))
        }
        Value::Table(_) | Value::LFn(_) | Value::NFn(_) => {
            let is_table = matches!(repl, Value::Table(_));
            let r = pattern::gsub(
                sb,
                pb,
                max_n,
                |src: &[u8], caps: &Captures, out: &mut Vec<u8>| -> Result<(), GErr> {
                    let v = if is_table {
                        let c0 = caps.get(0)?;
                        let k = cap_value(vm, src, c0);
                        vm.index(repl, k, None).map_err(GErr::Lua)?
                    } else {
                        let vals = caps.values()?;
                        let args: Vec<Value> =
                            vals.into_iter().map(|c| cap_value(vm, src, c)).collect();
                        vm.call_value(repl, &args, 1).map_err(GErr::Lua)?[0]
                    };
                    match v {
                        Value::Nil | Value::Bool(false) => {
                            out.extend_from_slice(&src[caps.start..caps.end])
                        }
                        Value::Str(x) => out.extend_from_slice(&x.get().bytes),
                        Value::Int(_) | Value::Num(_) => out.extend(vm.tostring_basic(v)),
                        _ => {
                            let tn = v.type_name();
                            return Err(GErr::Lua(
                                vm.rt_error(&format!("invalid replacement value (a {})", tn)),
                            ));
                        }
                    }
                    Ok(())
                },
            );
            match r {
                Ok(x) => Ok(x),
                Err(GErr::Lua(e)) => Err(e),
                Err(GErr::Msg(m)) => Err(vm.rt_error(&m)),
            }
        }
        _ => return Err(type_err(vm, base, n, 2, "gsub", "string/function/table")),
    };
    let (out, cnt) = r?;
    Ok(R::Two(vm.str(&out), Value::Int(cnt)))
}

enum GErr {
    Msg(String),
    Lua(LuaError),
}

impl From<String> for GErr {
    fn from(m: String) -> GErr {
        GErr::Msg(m)
    }
}
