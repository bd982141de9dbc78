//! Base library (`print`, `pairs`, `pcall`, `load`, `require`, ...) and
//! the argument-checking helpers shared by all library modules.
//!
//! Natives receive their arguments at `vm.stack[base..base+n]` and return
//! an [`R`]. They never trigger a collection themselves (the VM collects at
//! its safe points), so holding handles in Rust locals is fine as long as
//! no call back into Lua happens meanwhile — when one does, the values
//! involved stay in argument slots or `vm.temp_roots`.

use super::heap::Gc;
use super::value::*;
use super::vm::{LResult, LuaError, Vm, R};
use std::io::Write;

// ----------------------------------------------------------------------
// argument helpers

#[inline]
pub fn arg(vm: &Vm, base: usize, n: usize, i: usize) -> Value {
    if i < n {
        vm.stack[base + i]
    } else {
        Value::Nil
    }
}

pub fn arg_error(vm: &mut Vm, i: usize, fname: &str, msg: &str) -> LuaError {
    let mut i = i + 1;
    if vm.in_method_call() {
        i -= 1;
        if i == 0 {
            return vm.rt_error(&format!("calling '{}' on bad self ({})", fname, msg));
        }
    }
    let name = if vm.c_caller {
        vm.qualified_name(fname)
    } else {
        fname.to_string()
    };
    vm.rt_error(&format!("bad argument #{} to '{}' ({})", i, name, msg))
}

pub fn type_err(
    vm: &mut Vm,
    base: usize,
    n: usize,
    i: usize,
    fname: &str,
    expected: &str,
) -> LuaError {
    let got = if i >= n {
        "no value".to_string()
    } else {
        vm.type_name_mt(vm.stack[base + i])
    };
    arg_error(vm, i, fname, &format!("{} expected, got {}", expected, got))
}

pub fn check_any(vm: &mut Vm, base: usize, n: usize, i: usize, fname: &str) -> LResult<Value> {
    if i >= n {
        return Err(arg_error(vm, i, fname, "value expected"));
    }
    Ok(vm.stack[base + i])
}

pub fn check_table(
    vm: &mut Vm,
    base: usize,
    n: usize,
    i: usize,
    fname: &str,
) -> LResult<Gc<Table>> {
    match arg(vm, base, n, i) {
        Value::Table(t) => Ok(t),
        _ => Err(type_err(vm, base, n, i, fname, "table")),
    }
}

pub fn check_int(vm: &mut Vm, base: usize, n: usize, i: usize, fname: &str) -> LResult<i64> {
    let v = arg(vm, base, n, i);
    match v {
        Value::Int(x) => Ok(x),
        _ => match Vm::tonumber(v) {
            Some(num) => match Vm::toint(num) {
                Some(x) => Ok(x),
                None => Err(arg_error(
                    vm,
                    i,
                    fname,
                    "number has no integer representation",
                )),
            },
            None => Err(type_err(vm, base, n, i, fname, "number")),
        },
    }
}

pub fn opt_int(
    vm: &mut Vm,
    base: usize,
    n: usize,
    i: usize,
    fname: &str,
    def: i64,
) -> LResult<i64> {
    if arg(vm, base, n, i).is_nil() {
        Ok(def)
    } else {
        check_int(vm, base, n, i, fname)
    }
}

pub fn check_num(vm: &mut Vm, base: usize, n: usize, i: usize, fname: &str) -> LResult<Value> {
    let v = arg(vm, base, n, i);
    match Vm::tonumber(v) {
        Some(x) => Ok(x),
        None => Err(type_err(vm, base, n, i, fname, "number")),
    }
}

pub fn check_f64(vm: &mut Vm, base: usize, n: usize, i: usize, fname: &str) -> LResult<f64> {
    Ok(match check_num(vm, base, n, i, fname)? {
        Value::Int(x) => x as f64,
        Value::Num(f) => f,
        _ => 0.0,
    })
}

/// String argument (numbers are converted). Returns the string object.
pub fn check_str(vm: &mut Vm, base: usize, n: usize, i: usize, fname: &str) -> LResult<Gc<LStr>> {
    match arg(vm, base, n, i) {
        Value::Str(s) => Ok(s),
        v @ (Value::Int(_) | Value::Num(_)) => {
            let b = vm.tostring_basic(v);
            match vm.str(&b) {
                Value::Str(s) => {
                    // keep it rooted in the argument slot
                    vm.stack[base + i] = Value::Str(s);
                    Ok(s)
                }
                _ => unreachable!(),
            }
        }
        _ => Err(type_err(vm, base, n, i, fname, "string")),
    }
}

pub fn opt_str(
    vm: &mut Vm,
    base: usize,
    n: usize,
    i: usize,
    fname: &str,
) -> LResult<Option<Gc<LStr>>> {
    if arg(vm, base, n, i).is_nil() {
        Ok(None)
    } else {
        check_str(vm, base, n, i, fname).map(Some)
    }
}

pub fn set_field(vm: &mut Vm, t: Gc<Table>, name: &str, v: Value) {
    let k = vm.str(name.as_bytes());
    vm.table_set(t, k, v);
}

pub fn reg_fn(vm: &mut Vm, t: Gc<Table>, name: &'static str, f: super::vm::NativeFn) {
    let v = vm.native(name, f);
    set_field(vm, t, name, v);
}

// ----------------------------------------------------------------------

pub fn open(vm: &mut Vm) {
    let g = vm.globals;
    set_field(vm, g, "_G", Value::Table(g));
    let ver = vm.str(b"Lua 5.4");
    set_field(vm, g, "_VERSION", ver);
    reg_fn(vm, g, "print", lua_print);
    reg_fn(vm, g, "type", lua_type);
    reg_fn(vm, g, "tostring", lua_tostring);
    reg_fn(vm, g, "tonumber", lua_tonumber);
    reg_fn(vm, g, "next", lua_next);
    reg_fn(vm, g, "pairs", lua_pairs);
    reg_fn(vm, g, "ipairs", lua_ipairs);
    reg_fn(vm, g, "select", lua_select);
    reg_fn(vm, g, "error", lua_error);
    reg_fn(vm, g, "pcall", lua_pcall);
    reg_fn(vm, g, "xpcall", lua_xpcall);
    reg_fn(vm, g, "assert", lua_assert);
    reg_fn(vm, g, "rawget", lua_rawget);
    reg_fn(vm, g, "rawset", lua_rawset);
    reg_fn(vm, g, "rawequal", lua_rawequal);
    reg_fn(vm, g, "rawlen", lua_rawlen);
    reg_fn(vm, g, "setmetatable", lua_setmetatable);
    reg_fn(vm, g, "getmetatable", lua_getmetatable);
    reg_fn(vm, g, "load", lua_load);
    reg_fn(vm, g, "dofile", lua_dofile);
    reg_fn(vm, g, "require", lua_require);
    reg_fn(vm, g, "collectgarbage", lua_collectgarbage);
    // package
    let pkg = vm.new_table(0, 4);
    set_field(vm, g, "package", Value::Table(pkg));
    let loaded = vm.new_table(0, 8);
    set_field(vm, pkg, "loaded", Value::Table(loaded));
    let path = vm.str(b"./?.lua");
    set_field(vm, pkg, "path", path);
    let cpath = vm.str(b"");
    set_field(vm, pkg, "cpath", cpath);
    let reg = vm.registry;
    set_field(vm, reg, "_LOADED", Value::Table(loaded));
    set_field(vm, loaded, "_G", Value::Table(g));
    set_field(vm, loaded, "package", Value::Table(pkg));
    let config = vm.str(b"/\n;\n?\n!\n-\n");
    set_field(vm, pkg, "config", config);
    let preload = vm.new_table(0, 2);
    set_field(vm, pkg, "preload", Value::Table(preload));
}

/// Registers the standard library tables in `package.loaded` (after all
/// libraries are opened).
pub fn register_loaded(vm: &mut Vm) {
    let loaded = match vm.registry.get().get_str(vm.heap.intern(b"_LOADED")) {
        Value::Table(t) => t,
        _ => return,
    };
    for name in ["string", "table", "math", "os", "io"] {
        let k = vm.heap.intern(name.as_bytes());
        let v = vm.globals.get().get_str(k);
        vm.table_set(loaded, Value::Str(k), v);
    }
}

fn lua_print(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let mut out = Vec::new();
    for i in 0..n {
        if i > 0 {
            out.push(b'\t');
        }
        let v = vm.stack[base + i];
        match v {
            Value::Str(s) => out.extend_from_slice(&s.get().bytes),
            Value::Int(_) | Value::Num(_) | Value::Nil | Value::Bool(_) => {
                out.extend(vm.tostring_basic(v))
            }
            _ => {
                let s = vm.tostring(v)?;
                out.extend_from_slice(s.as_str().unwrap_or(b""));
            }
        }
    }
    out.push(b'\n');
    let so = std::io::stdout();
    let mut so = so.lock();
    let _ = so.write_all(&out);
    Ok(R::Zero)
}

fn lua_type(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let v = check_any(vm, base, n, 0, "type")?;
    Ok(R::One(vm.str(v.type_name().as_bytes())))
}

fn lua_tostring(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let v = check_any(vm, base, n, 0, "tostring")?;
    Ok(R::One(vm.tostring(v)?))
}

fn lua_tonumber(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let v = arg(vm, base, n, 0);
    if arg(vm, base, n, 1).is_nil() {
        if n == 0 {
            return Err(arg_error(vm, 0, "tonumber", "value expected"));
        }
        return Ok(R::One(Vm::tonumber(v).unwrap_or(Value::Nil)));
    }
    let b = check_int(vm, base, n, 1, "tonumber")?;
    let s = match v {
        Value::Str(s) => s,
        _ => return Err(type_err(vm, base, n, 0, "tonumber", "string")),
    };
    if !(2..=36).contains(&b) {
        return Err(arg_error(vm, 1, "tonumber", "base out of range"));
    }
    let r = super::support::number::str_to_int_base(&s.get().bytes, b as u32);
    Ok(R::One(r.map(Value::Int).unwrap_or(Value::Nil)))
}

pub fn lua_next(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let t = check_table(vm, base, n, 0, "next")?;
    let k = arg(vm, base, n, 1);
    match t.get().next(k) {
        Ok(Some((k, v))) => Ok(R::Two(k, v)),
        Ok(None) => Ok(R::One(Value::Nil)),
        Err(()) => Err(vm.rt_error("invalid key to 'next'")),
    }
}

fn lua_pairs(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let v = check_any(vm, base, n, 0, "pairs")?;
    let h = vm.metamethod(v, super::vm::Tm::Pairs);
    if !h.is_nil() {
        let r = vm.call_value(h, &[v], 3)?;
        return Ok(R::Many(r));
    }
    if !matches!(v, Value::Table(_)) {
        return Err(type_err(vm, base, n, 0, "pairs", "table"));
    }
    let next = vm.globals.get().get_str(vm.heap.intern(b"next"));
    let next = match next {
        Value::NFn(_) => next,
        _ => vm.native("next", lua_next),
    };
    Ok(R::Many(vec![next, v, Value::Nil]))
}

/// The iterator `ipairs` returns (the JIT recognizes it to trace `ipairs`
/// loops).
pub(crate) fn ipairs_aux(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let t = arg(vm, base, n, 0);
    let i = match arg(vm, base, n, 1) {
        Value::Int(i) => i.wrapping_add(1),
        _ => 1,
    };
    let v = match t {
        Value::Table(tb) if tb.get().meta.is_none() => tb.get().get_int(i),
        _ => vm.index(t, Value::Int(i), None)?,
    };
    if v.is_nil() {
        Ok(R::One(Value::Nil))
    } else {
        Ok(R::Two(Value::Int(i), v))
    }
}

fn lua_ipairs(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let v = check_any(vm, base, n, 0, "ipairs")?;
    let f = vm.native("ipairs_aux", ipairs_aux);
    Ok(R::Many(vec![f, v, Value::Int(0)]))
}

fn lua_select(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let s = arg(vm, base, n, 0);
    if let Value::Str(st) = s {
        if &st.get().bytes[..] == b"#" {
            return Ok(R::One(Value::Int(n as i64 - 1)));
        }
    }
    let i = check_int(vm, base, n, 0, "select")?;
    let nv = n as i64 - 1;
    let start = if i < 0 {
        if -i > nv {
            return Err(arg_error(vm, 0, "select", "index out of range"));
        }
        nv + i
    } else if i == 0 {
        return Err(arg_error(vm, 0, "select", "index out of range"));
    } else {
        (i - 1).min(nv)
    };
    let v = vm.stack[base + 1 + start as usize..base + n].to_vec();
    Ok(R::Many(v))
}

fn lua_error(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let v = arg(vm, base, n, 0);
    let level = opt_int(vm, base, n, 1, "error", 1)?;
    if let Value::Str(s) = v {
        if level > 0 && !(level == 1 && vm.c_caller) {
            let w = vm.where_(level as usize);
            if !w.is_empty() {
                let mut b = w.into_bytes();
                b.extend_from_slice(&s.get().bytes);
                let nv = vm.str(&b);
                return Err(vm.error_value(nv));
            }
        }
    }
    Err(vm.error_value(v))
}

fn lua_pcall(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    check_any(vm, base, n, 0, "pcall")?;
    vm.pcall_depth += 1;
    let r = vm.call(base, n - 1, -1);
    vm.pcall_depth -= 1;
    match r {
        Ok(cnt) => {
            let mut v = Vec::with_capacity(cnt + 1);
            v.push(Value::Bool(true));
            v.extend_from_slice(&vm.stack[base..base + cnt]);
            Ok(R::Many(v))
        }
        Err(e) => Ok(R::Two(Value::Bool(false), e.value)),
    }
}

fn lua_xpcall(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    if n < 2 {
        return Err(type_err(vm, base, n, 1, "xpcall", "value"));
    }
    let handler = vm.stack[base + 1];
    // move f above the handler: call f with args base+2..
    vm.stack[base + 1] = vm.stack[base];
    vm.pcall_depth += 1;
    let r = vm.call(base + 1, n - 2, -1);
    vm.pcall_depth -= 1;
    vm.stack[base] = handler;
    match r {
        Ok(cnt) => {
            let mut v = Vec::with_capacity(cnt + 1);
            v.push(Value::Bool(true));
            v.extend_from_slice(&vm.stack[base + 1..base + 1 + cnt]);
            Ok(R::Many(v))
        }
        Err(e) => {
            vm.top = base + 1;
            vm.temp_roots.push(e.value);
            let hr = vm.call_value(handler, &[e.value], 1);
            vm.temp_roots.pop();
            match hr {
                Ok(r) => Ok(R::Two(Value::Bool(false), r[0])),
                Err(_) => Ok(R::Two(
                    Value::Bool(false),
                    vm.str(b"error in error handling"),
                )),
            }
        }
    }
}

fn lua_assert(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    if n == 0 {
        return Err(arg_error(vm, 0, "assert", "value expected"));
    }
    if vm.stack[base].truthy() {
        return Ok(R::Many(vm.stack[base..base + n].to_vec()));
    }
    if n >= 2 {
        return Err(vm.error_value(vm.stack[base + 1]));
    }
    Err(vm.rt_error("assertion failed!"))
}

fn lua_rawget(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let t = check_table(vm, base, n, 0, "rawget")?;
    let k = check_any(vm, base, n, 1, "rawget")?;
    Ok(R::One(t.get().get(k)))
}

fn lua_rawset(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let t = check_table(vm, base, n, 0, "rawset")?;
    let k = check_any(vm, base, n, 1, "rawset")?;
    let v = check_any(vm, base, n, 2, "rawset")?;
    vm.raw_set(t, k, v)?;
    Ok(R::One(Value::Table(t)))
}

fn lua_rawequal(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let a = check_any(vm, base, n, 0, "rawequal")?;
    let b = check_any(vm, base, n, 1, "rawequal")?;
    Ok(R::One(Value::Bool(a.raw_eq(&b))))
}

fn lua_rawlen(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    match arg(vm, base, n, 0) {
        Value::Table(t) => Ok(R::One(Value::Int(t.get().len()))),
        Value::Str(s) => Ok(R::One(Value::Int(s.get().bytes.len() as i64))),
        _ => Err(type_err(vm, base, n, 0, "rawlen", "table or string")),
    }
}

fn lua_setmetatable(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let t = check_table(vm, base, n, 0, "setmetatable")?;
    let m = arg(vm, base, n, 1);
    if n < 2 {
        return Err(type_err(vm, base, n, 1, "setmetatable", "nil or table"));
    }
    let mt = match m {
        Value::Nil => None,
        Value::Table(m) => Some(m),
        _ => return Err(type_err(vm, base, n, 1, "setmetatable", "nil or table")),
    };
    if let Some(old) = t.get().meta {
        if !old
            .get()
            .get_str(vm.tm_name(super::vm::Tm::Metatable))
            .is_nil()
        {
            return Err(vm.rt_error("cannot change a protected metatable"));
        }
    }
    t.get_mut().meta = mt;
    Ok(R::One(Value::Table(t)))
}

fn lua_getmetatable(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let v = check_any(vm, base, n, 0, "getmetatable")?;
    match vm.get_metatable(v) {
        None => Ok(R::One(Value::Nil)),
        Some(mt) => {
            let p = mt.get().get_str(vm.tm_name(super::vm::Tm::Metatable));
            if !p.is_nil() {
                Ok(R::One(p))
            } else {
                Ok(R::One(Value::Table(mt)))
            }
        }
    }
}

/// Compiles `src` into a closure whose `_ENV` upvalue is `env`.
pub fn load_chunk(vm: &mut Vm, src: &[u8], chunkname: &str, env: Value) -> Result<Value, String> {
    let ast = super::parser::parse_chunk(src, chunkname)?;
    let proto = super::compiler::compile_chunk(&mut vm.heap, &ast, chunkname)?;
    let up = vm.heap.alloc_upval(UpVal::Closed(env));
    let cl = vm.heap.alloc_lclosure(LClosure {
        proto,
        upvals: vec![up],
    });
    Ok(Value::LFn(cl))
}

/// lua5.4's chunkname display: `=name` → name, `@file` → file,
/// otherwise `[string "first line..."]`.
pub fn display_chunkname(name: &[u8]) -> String {
    if let Some(r) = name.strip_prefix(b"=") {
        return String::from_utf8_lossy(r).into_owned();
    }
    if let Some(r) = name.strip_prefix(b"@") {
        return String::from_utf8_lossy(r).into_owned();
    }
    let s = String::from_utf8_lossy(name);
    let first = s.lines().next().unwrap_or("");
    let multi = s.contains('\n');
    const MAX: usize = 60 - 15;
    if !multi && first.len() <= MAX {
        format!("[string \"{}\"]", first)
    } else {
        let mut f: String = first.chars().take(MAX).collect();
        while f.len() > MAX {
            f.pop();
        }
        format!("[string \"{}...\"]", f)
    }
}

fn lua_load(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let mut chunk = arg(vm, base, n, 0);
    if let Value::Int(_) | Value::Num(_) = chunk {
        let b = vm.tostring_basic(chunk);
        chunk = vm.str(&b);
        vm.stack[base] = chunk;
    }
    let src: Vec<u8> = match chunk {
        Value::Str(s) => s.get().bytes.to_vec(),
        Value::LFn(_) | Value::NFn(_) => {
            let mut buf = Vec::new();
            loop {
                let r = vm.call_value(chunk, &[], 1)?;
                match r[0] {
                    Value::Str(s) if !s.get().bytes.is_empty() => {
                        buf.extend_from_slice(&s.get().bytes)
                    }
                    Value::Nil | Value::Str(_) => break,
                    _ => {
                        return Ok(R::Two(
                            Value::Nil,
                            vm.str(b"reader function must return a string"),
                        ))
                    }
                }
            }
            buf
        }
        _ => return Err(type_err(vm, base, n, 0, "load", "string")),
    };
    let name = match arg(vm, base, n, 1) {
        Value::Str(s) => display_chunkname(&s.get().bytes),
        _ => match chunk {
            Value::Str(_) => display_chunkname(&src),
            _ => "=(load)".trim_start_matches('=').to_string(),
        },
    };
    if let Value::Str(m) = arg(vm, base, n, 2) {
        if !m.get().bytes.contains(&b't') {
            let msg = format!(
                "attempt to load a text chunk (mode is '{}')",
                String::from_utf8_lossy(&m.get().bytes)
            );
            return Ok(R::Two(Value::Nil, vm.str(msg.as_bytes())));
        }
    }
    if src.first() == Some(&0x1b) {
        return Ok(R::Two(
            Value::Nil,
            vm.str(b"attempt to load a binary chunk (mode is 't')"),
        ));
    }
    let env = if n >= 4 {
        vm.stack[base + 3]
    } else {
        Value::Table(vm.globals)
    };
    match load_chunk(vm, &src, &name, env) {
        Ok(f) => Ok(R::One(f)),
        Err(e) => Ok(R::Two(Value::Nil, vm.str(e.as_bytes()))),
    }
}

fn lua_dofile(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let name = opt_str(vm, base, n, 0, "dofile")?;
    let (src, cname) = match name {
        Some(s) => {
            let p = String::from_utf8_lossy(&s.get().bytes).into_owned();
            match std::fs::read(&p) {
                Ok(b) => (b, p),
                Err(e) => {
                    return Err(vm.rt_error(&format!("cannot open {}: {}", p, io_err_text(&e))))
                }
            }
        }
        None => {
            let mut b = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut b);
            (b, "stdin".to_string())
        }
    };
    let g = Value::Table(vm.globals);
    let f = match load_chunk(vm, &src, &cname, g) {
        Ok(f) => f,
        Err(e) => {
            let v = vm.str(e.as_bytes());
            return Err(vm.error_value(v));
        }
    };
    let r = vm.call_value(f, &[], -1)?;
    Ok(R::Many(r))
}

pub fn io_err_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(p) => s[..p].to_string(),
                None => s,
            }
        }
    }
}

fn lua_require(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let name = check_str(vm, base, n, 0, "require")?;
    let loaded = match vm.registry.get().get_str(vm.heap.intern(b"_LOADED")) {
        Value::Table(t) => t,
        _ => return Err(vm.rt_error("package.loaded missing")),
    };
    let v = loaded.get().get_str(name);
    if !v.is_nil() {
        return Ok(R::One(v));
    }
    let pkg = vm.globals.get().get_str(vm.heap.intern(b"package"));
    let path = match pkg {
        Value::Table(p) => match p.get().get_str(vm.heap.intern(b"path")) {
            Value::Str(s) => s.get().bytes.to_vec(),
            _ => return Err(vm.rt_error("'package.path' must be a string")),
        },
        _ => b"./?.lua".to_vec(),
    };
    let modname = String::from_utf8_lossy(&name.get().bytes).into_owned();
    if let Value::Table(p) = pkg {
        if let Value::Table(pre) = p.get().get_str(vm.heap.intern(b"preload")) {
            let loader = pre.get().get_str(name);
            if !loader.is_nil() {
                let extra = vm.str(b":preload:");
                let r = vm.call_value(loader, &[Value::Str(name), extra], 1)?;
                let mut res = r[0];
                if !res.is_nil() {
                    vm.table_set(loaded, Value::Str(name), res);
                }
                let cur = loaded.get().get_str(name);
                if cur.is_nil() {
                    res = Value::Bool(true);
                    vm.table_set(loaded, Value::Str(name), res);
                } else {
                    res = cur;
                }
                return Ok(R::Two(res, extra));
            }
        }
    }
    let fname = modname.replace('.', "/");
    let mut tried = String::new();
    for templ in String::from_utf8_lossy(&path).split(';') {
        if templ.is_empty() {
            continue;
        }
        let file = templ.replace('?', &fname);
        match std::fs::read(&file) {
            Ok(src) => {
                let g = Value::Table(vm.globals);
                let f = match load_chunk(vm, &src, &file, g) {
                    Ok(f) => f,
                    Err(e) => {
                        return Err(vm.rt_error(&format!(
                            "error loading module '{}' from file '{}':\n\t{}",
                            modname, file, e
                        )))
                    }
                };
                let fv = vm.str(file.as_bytes());
                vm.temp_roots.push(f);
                vm.temp_roots.push(fv);
                let r = vm.call_value(f, &[Value::Str(name), fv], 1);
                vm.temp_roots.pop();
                vm.temp_roots.pop();
                let r = r?;
                let mut res = r[0];
                if !res.is_nil() {
                    vm.table_set(loaded, Value::Str(name), res);
                }
                let cur = loaded.get().get_str(name);
                if cur.is_nil() {
                    res = Value::Bool(true);
                    vm.table_set(loaded, Value::Str(name), res);
                } else {
                    res = cur;
                }
                return Ok(R::Two(res, fv));
            }
            Err(_) => {
                tried.push_str(&format!("\n\tno file '{}'", file));
            }
        }
    }
    Err(vm.rt_error(&format!(
        "module '{}' not found:\n\tno field package.preload['{}']{}",
        modname, modname, tried
    )))
}

fn lua_collectgarbage(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let opt = match opt_str(vm, base, n, 0, "collectgarbage")? {
        Some(s) => String::from_utf8_lossy(&s.get().bytes).into_owned(),
        None => "collect".into(),
    };
    match opt.as_str() {
        "count" => {
            let kb = vm.heap.live_objects() as f64 * 64.0 / 1024.0;
            Ok(R::One(Value::Num(kb)))
        }
        "collect" | "step" | "incremental" | "generational" => {
            // collection happens at the next VM safe point
            vm.heap.note_growth(usize::MAX / 4);
            Ok(R::One(Value::Int(0)))
        }
        "isrunning" => Ok(R::One(Value::Bool(true))),
        "stop" | "restart" | "setpause" | "setstepmul" => Ok(R::One(Value::Int(0))),
        _ => {
            let msg = format!("invalid option '{}'", opt);
            Err(arg_error(vm, 0, "collectgarbage", &msg))
        }
    }
}
