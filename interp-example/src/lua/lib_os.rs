//! `os` and `io` libraries (the subset the issue lists). `os.date`/
//! `os.time` use [`super::support::date`] and the local zone rules of
//! [`super::support::tz`].
//!
//! Files are tables with a shared metatable (`__index` = methods, `__name`
//! = "FILE*"); the handle kind is stored in a hidden field.

use super::heap::Gc;
use super::lib_base::*;
use super::support::date::{self, DateError, DateField, DateResult, TimeFields};
use super::support::tz::Tz;
use super::value::*;
use super::vm::{LResult, Vm, R};
use std::io::{BufRead, Read, Write};
use std::time::Instant;

thread_local! {
    static START: Instant = Instant::now();
    static STDIN: std::cell::RefCell<std::io::BufReader<std::io::Stdin>> =
        std::cell::RefCell::new(std::io::BufReader::new(std::io::stdin()));
}

pub fn open(vm: &mut Vm) {
    START.with(|_| {});
    let os = vm.new_table(0, 16);
    let g = vm.globals;
    set_field(vm, g, "os", Value::Table(os));
    reg_fn(vm, os, "clock", os_clock);
    reg_fn(vm, os, "time", os_time);
    reg_fn(vm, os, "date", os_date);
    reg_fn(vm, os, "getenv", os_getenv);
    reg_fn(vm, os, "exit", os_exit);
    reg_fn(vm, os, "remove", os_remove);
    reg_fn(vm, os, "rename", os_rename);
    reg_fn(vm, os, "difftime", os_difftime);

    let io = vm.new_table(0, 16);
    set_field(vm, g, "io", Value::Table(io));
    reg_fn(vm, io, "write", io_write);
    reg_fn(vm, io, "read", io_read);
    reg_fn(vm, io, "lines", io_lines);
    let methods = vm.new_table(0, 8);
    reg_fn(vm, methods, "write", f_write);
    reg_fn(vm, methods, "read", f_read);
    reg_fn(vm, methods, "lines", f_lines);
    reg_fn(vm, methods, "close", f_close);
    reg_fn(vm, methods, "flush", f_flush);
    reg_fn(vm, methods, "setvbuf", f_flush);
    let mt = vm.new_table(0, 4);
    set_field(vm, mt, "__index", Value::Table(methods));
    let nm = vm.str(b"FILE*");
    set_field(vm, mt, "__name", nm);
    for (name, kind) in [("stdin", 0), ("stdout", 1), ("stderr", 2)] {
        let f = vm.new_table(0, 2);
        set_field(vm, f, "\u{1}kind", Value::Int(kind));
        f.get_mut().meta = Some(mt);
        set_field(vm, io, name, Value::Table(f));
    }
    reg_fn(vm, io, "flush", f_flush);
    reg_fn(vm, io, "type", io_type);
}

fn io_type(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    check_any(vm, base, n, 0, "type")?;
    let v = vm.stack[base];
    match file_kind(vm, v) {
        Some(_) => Ok(R::One(vm.str(b"file"))),
        None => Ok(R::One(Value::Nil)),
    }
}

fn os_clock(_vm: &mut Vm, _b: usize, _n: usize) -> LResult<R> {
    // process CPU time, like C's clock()
    let mut ts = [0i64; 2];
    let ok = cpu_time(&mut ts);
    let t = if ok {
        ts[0] as f64 + ts[1] as f64 * 1e-9
    } else {
        START.with(|s| s.elapsed().as_secs_f64())
    };
    Ok(R::One(Value::Num(t)))
}

fn cpu_time(out: &mut [i64; 2]) -> bool {
    // /proc/self/stat fields 14 and 15 (utime, stime) in clock ticks
    if let Ok(s) = std::fs::read_to_string("/proc/self/stat") {
        if let Some(p) = s.rfind(')') {
            let f: Vec<&str> = s[p + 2..].split(' ').collect();
            if f.len() > 13 {
                let u: i64 = f[11].parse().unwrap_or(0);
                let st: i64 = f[12].parse().unwrap_or(0);
                let ticks = u + st;
                out[0] = ticks / 100;
                out[1] = (ticks % 100) * 10_000_000;
                return true;
            }
        }
    }
    false
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn date_err(vm: &mut Vm, e: DateError, fname: &str) -> super::vm::LuaError {
    match e {
        DateError::BadArgument { arg, msg } => {
            vm.rt_error(&format!("bad argument #{} to '{}' ({})", arg, fname, msg))
        }
        DateError::Message(m) => vm.rt_error(&m),
    }
}

fn field(vm: &mut Vm, t: Gc<Table>, name: &str) -> DateField {
    let k = vm.heap.intern(name.as_bytes());
    match t.get().get_str(k) {
        Value::Nil => DateField::Absent,
        v => match Vm::toint(v) {
            Some(i) => DateField::Int(i),
            None => DateField::NotInteger,
        },
    }
}

fn os_time(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    match arg(vm, base, n, 0) {
        Value::Nil => Ok(R::One(Value::Int(now()))),
        Value::Table(t) => {
            let isdst = match t.get().get_str(vm.heap.intern(b"isdst")) {
                Value::Nil => None,
                v => Some(v.truthy()),
            };
            let f = TimeFields {
                year: field(vm, t, "year"),
                month: field(vm, t, "month"),
                day: field(vm, t, "day"),
                hour: field(vm, t, "hour"),
                min: field(vm, t, "min"),
                sec: field(vm, t, "sec"),
                isdst,
            };
            let tz = Tz::from_env();
            match date::os_time_in(&f, &|x| tz.zone_at(x)) {
                Ok((secs, tm)) => {
                    set_tm(vm, t, &tm);
                    Ok(R::One(Value::Int(secs)))
                }
                Err(e) => Err(date_err(vm, e, "time")),
            }
        }
        _ => Err(type_err(vm, base, n, 0, "time", "table")),
    }
}

fn set_tm(vm: &mut Vm, t: Gc<Table>, tm: &date::Tm) {
    set_field(vm, t, "year", Value::Int(tm.year));
    set_field(vm, t, "month", Value::Int(tm.month));
    set_field(vm, t, "day", Value::Int(tm.day));
    set_field(vm, t, "hour", Value::Int(tm.hour));
    set_field(vm, t, "min", Value::Int(tm.min));
    set_field(vm, t, "sec", Value::Int(tm.sec));
    set_field(vm, t, "yday", Value::Int(tm.yday));
    set_field(vm, t, "wday", Value::Int(tm.wday));
    set_field(vm, t, "isdst", Value::Bool(tm.isdst));
}

fn os_date(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let fmt = match opt_str(vm, base, n, 0, "date")? {
        Some(s) => s.get().bytes.to_vec(),
        None => b"%c".to_vec(),
    };
    let t = if arg(vm, base, n, 1).is_nil() {
        now()
    } else {
        check_int(vm, base, n, 1, "date")?
    };
    let tz = Tz::from_env();
    match date::os_date(&fmt, t, &tz.zone_at(t)) {
        Ok(DateResult::Str(s)) => Ok(R::One(vm.str(&s))),
        Ok(DateResult::Table(tm)) => {
            let tb = vm.new_table(0, 9);
            set_tm(vm, tb, &tm);
            Ok(R::One(Value::Table(tb)))
        }
        Err(e) => Err(date_err(vm, e, "date")),
    }
}

fn os_getenv(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let k = check_str(vm, base, n, 0, "getenv")?;
    let name = String::from_utf8_lossy(&k.get().bytes).into_owned();
    match std::env::var_os(&name) {
        Some(v) => Ok(R::One(vm.str(v.to_string_lossy().as_bytes()))),
        None => Ok(R::One(Value::Nil)),
    }
}

fn os_exit(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let code = match arg(vm, base, n, 0) {
        Value::Nil | Value::Bool(true) => 0,
        Value::Bool(false) => 1,
        _ => check_int(vm, base, n, 0, "exit")? as i32,
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

fn os_remove(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let f = check_str(vm, base, n, 0, "remove")?;
    let name = String::from_utf8_lossy(&f.get().bytes).into_owned();
    let r = std::fs::remove_file(&name).or_else(|_| std::fs::remove_dir(&name));
    match r {
        Ok(()) => Ok(R::One(Value::Bool(true))),
        Err(e) => {
            let m = format!("{}: {}", name, io_err_text(&e));
            Ok(R::Many(vec![
                Value::Nil,
                vm.str(m.as_bytes()),
                Value::Int(e.raw_os_error().unwrap_or(0) as i64),
            ]))
        }
    }
}

fn os_rename(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let a = check_str(vm, base, n, 0, "rename")?;
    let b = check_str(vm, base, n, 1, "rename")?;
    let (a, b) = (
        String::from_utf8_lossy(&a.get().bytes).into_owned(),
        String::from_utf8_lossy(&b.get().bytes).into_owned(),
    );
    match std::fs::rename(&a, &b) {
        Ok(()) => Ok(R::One(Value::Bool(true))),
        Err(e) => {
            let m = format!("{}: {}", a, io_err_text(&e));
            Ok(R::Many(vec![
                Value::Nil,
                vm.str(m.as_bytes()),
                Value::Int(e.raw_os_error().unwrap_or(0) as i64),
            ]))
        }
    }
}

fn os_difftime(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let a = check_f64(vm, base, n, 0, "difftime")?;
    let b = if arg(vm, base, n, 1).is_nil() {
        0.0
    } else {
        check_f64(vm, base, n, 1, "difftime")?
    };
    Ok(R::One(Value::Num(a - b)))
}

// ---------------------------------------------------------------------- io

fn file_kind(vm: &mut Vm, v: Value) -> Option<i64> {
    if let Value::Table(t) = v {
        let k = vm.heap.intern("\u{1}kind".as_bytes());
        if let Value::Int(i) = t.get().get_str(k) {
            return Some(i);
        }
    }
    None
}

fn write_values(
    vm: &mut Vm,
    base: usize,
    n: usize,
    first: usize,
    kind: i64,
    fname: &str,
) -> LResult<()> {
    let mut out = Vec::new();
    for i in first..n {
        let v = vm.stack[base + i];
        match v {
            Value::Str(s) => out.extend_from_slice(&s.get().bytes),
            Value::Int(_) => out.extend(vm.tostring_basic(v)),
            Value::Num(_) => {
                // io.write uses "%.14g" without the ".0" suffix
                let mut b = vm.tostring_basic(v);
                if b.ends_with(b".0") {
                    b.truncate(b.len() - 2);
                }
                out.extend(b)
            }
            _ => return Err(type_err(vm, base, n, i, fname, "string")),
        }
    }
    if kind == 2 {
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().write_all(&out);
    } else {
        let _ = std::io::stdout().lock().write_all(&out);
    }
    Ok(())
}

fn io_write(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    write_values(vm, base, n, 0, 1, "write")?;
    let io = vm.globals.get().get_str(vm.heap.intern(b"io"));
    let out = match io {
        Value::Table(t) => t.get().get_str(vm.heap.intern(b"stdout")),
        _ => Value::Nil,
    };
    Ok(R::One(out))
}

fn f_write(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let me = arg(vm, base, n, 0);
    let kind = match file_kind(vm, me) {
        Some(k) => k,
        None => return Err(type_err(vm, base, n, 0, "write", "FILE*")),
    };
    write_values(vm, base, n, 1, kind, "write")?;
    Ok(R::One(me))
}

fn f_flush(_vm: &mut Vm, _base: usize, _n: usize) -> LResult<R> {
    let _ = std::io::stdout().flush();
    Ok(R::Zero)
}

fn f_close(_vm: &mut Vm, _base: usize, _n: usize) -> LResult<R> {
    let _ = std::io::stdout().flush();
    Ok(R::One(Value::Bool(true)))
}

fn read_line(keep_nl: bool) -> Option<Vec<u8>> {
    let _ = std::io::stdout().flush();
    STDIN.with(|s| {
        let mut buf = Vec::new();
        match s.borrow_mut().read_until(b'\n', &mut buf) {
            Ok(0) => None,
            Ok(_) => {
                if !keep_nl && buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                Some(buf)
            }
            Err(_) => None,
        }
    })
}

fn read_number() -> Option<super::value::Value> {
    STDIN.with(|s| {
        let mut s = s.borrow_mut();
        // skip whitespace
        let mut text = Vec::new();
        loop {
            let buf = s.fill_buf().ok()?;
            if buf.is_empty() {
                break;
            }
            let c = buf[0];
            if text.is_empty() && c.is_ascii_whitespace() {
                s.consume(1);
                continue;
            }
            if c.is_ascii_hexdigit()
                || matches!(c, b'+' | b'-' | b'.' | b'x' | b'X' | b'p' | b'P') && text.len() < 200
            {
                text.push(c);
                s.consume(1);
            } else {
                break;
            }
        }
        super::numparse::str_to_number(&text)
    })
}

fn read_fmt(vm: &mut Vm, fmt: Value) -> LResult<Option<Value>> {
    match fmt {
        Value::Int(k) => {
            let _ = std::io::stdout().flush();
            let mut buf = vec![0u8; k.max(0) as usize];
            let got = STDIN.with(|s| {
                let mut s = s.borrow_mut();
                let mut tot = 0;
                while tot < buf.len() {
                    match s.read(&mut buf[tot..]) {
                        Ok(0) | Err(_) => break,
                        Ok(m) => tot += m,
                    }
                }
                tot
            });
            if got == 0
                && (k > 0
                    || STDIN.with(|s| {
                        s.borrow_mut()
                            .fill_buf()
                            .map(|b| b.is_empty())
                            .unwrap_or(true)
                    }))
            {
                return Ok(None);
            }
            buf.truncate(got);
            Ok(Some(vm.str(&buf)))
        }
        Value::Str(s) => {
            let f = s.get().bytes.to_vec();
            let f = f.strip_prefix(b"*").unwrap_or(&f).to_vec();
            match f.first() {
                Some(b'l') => Ok(read_line(false).map(|l| vm.str(&l))),
                Some(b'L') => Ok(read_line(true).map(|l| vm.str(&l))),
                Some(b'n') => Ok(read_number()),
                Some(b'a') => {
                    let mut buf = Vec::new();
                    STDIN.with(|s| {
                        let _ = s.borrow_mut().read_to_end(&mut buf);
                    });
                    Ok(Some(vm.str(&buf)))
                }
                _ => Err(arg_error(vm, 0, "read", "invalid format")),
            }
        }
        _ => Err(arg_error(vm, 0, "read", "invalid format")),
    }
}

fn do_read(vm: &mut Vm, base: usize, n: usize, first: usize) -> LResult<R> {
    if n <= first {
        let l = read_line(false);
        return Ok(R::One(l.map(|l| vm.str(&l)).unwrap_or(Value::Nil)));
    }
    let mut out = Vec::new();
    for i in first..n {
        let f = vm.stack[base + i];
        match read_fmt(vm, f)? {
            Some(v) => out.push(v),
            None => {
                out.push(Value::Nil);
                break;
            }
        }
    }
    Ok(R::Many(out))
}

fn io_read(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    do_read(vm, base, n, 0)
}

fn f_read(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    do_read(vm, base, n, 1)
}

fn lines_aux(vm: &mut Vm, _base: usize, _n: usize) -> LResult<R> {
    Ok(R::One(
        read_line(false).map(|l| vm.str(&l)).unwrap_or(Value::Nil),
    ))
}

fn io_lines(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    if let Some(f) = opt_str(vm, base, n, 0, "lines")? {
        // lines of a file: read it whole and iterate
        let name = String::from_utf8_lossy(&f.get().bytes).into_owned();
        let data = match std::fs::read(&name) {
            Ok(d) => d,
            Err(e) => return Err(vm.rt_error(&format!("{}: {}", name, io_err_text(&e)))),
        };
        let t = vm.new_table(0, 2);
        let mut lines: Vec<&[u8]> = data.split(|&c| c == b'\n').collect();
        if data.last() == Some(&b'\n') || data.is_empty() {
            lines.pop();
        }
        let arr = vm.new_table(lines.len(), 0);
        for (i, l) in lines.iter().enumerate() {
            let s = vm.str(l);
            vm.table_set(arr, Value::Int(i as i64 + 1), s);
        }
        set_field(vm, t, "lines", Value::Table(arr));
        let f = vm.heap.alloc_nclosure(NClosure {
            f: file_lines_aux,
            name: "lines",
            upvals: vec![Value::Table(arr), Value::Int(0)],
        });
        return Ok(R::One(Value::NFn(f)));
    }
    Ok(R::One(vm.native("lines", lines_aux)))
}

fn file_lines_aux(vm: &mut Vm, base: usize, _n: usize) -> LResult<R> {
    let me = match vm.stack[base - 1] {
        Value::NFn(f) => f,
        _ => return Ok(R::One(Value::Nil)),
    };
    let (arr, i) = match (me.get().upvals[0], me.get().upvals[1]) {
        (Value::Table(a), Value::Int(i)) => (a, i + 1),
        _ => return Ok(R::One(Value::Nil)),
    };
    me.get_mut().upvals[1] = Value::Int(i);
    Ok(R::One(arr.get().get_int(i)))
}

fn f_lines(vm: &mut Vm, _base: usize, _n: usize) -> LResult<R> {
    Ok(R::One(vm.native("lines", lines_aux)))
}
