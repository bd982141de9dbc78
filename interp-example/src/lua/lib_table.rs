//! `table` library. `table.sort` uses lua5.4's exact algorithm from
//! [`super::support::sort`].

use super::heap::Gc;
use super::lib_base::*;
use super::support::sort::{self, SortError, SortTable};
use super::value::*;
use super::vm::{LResult, LuaError, Vm, R};

pub fn open(vm: &mut Vm) {
    let t = vm.new_table(0, 8);
    let g = vm.globals;
    set_field(vm, g, "table", Value::Table(t));
    reg_fn(vm, t, "unpack", unpack);
    reg_fn(vm, t, "pack", pack);
    reg_fn(vm, t, "insert", insert);
    reg_fn(vm, t, "remove", remove);
    reg_fn(vm, t, "concat", concat);
    reg_fn(vm, t, "sort", tsort);
    reg_fn(vm, t, "move", tmove);
}

/// `#t` honoring `__len`.
fn len_of(vm: &mut Vm, t: Gc<Table>) -> LResult<i64> {
    if t.get().meta.is_none() {
        return Ok(t.get().len());
    }
    match vm.len(Value::Table(t), None)? {
        Value::Int(i) => Ok(i),
        Value::Num(f) => match float_to_int_exact(f) {
            Some(i) => Ok(i),
            None => Err(vm.rt_error("object length is not an integer")),
        },
        _ => Err(vm.rt_error("object length is not an integer")),
    }
}

fn geti(vm: &mut Vm, t: Gc<Table>, i: i64) -> LResult<Value> {
    if t.get().meta.is_none() {
        Ok(t.get().get_int(i))
    } else {
        vm.index(Value::Table(t), Value::Int(i), None)
    }
}

fn seti(vm: &mut Vm, t: Gc<Table>, i: i64, v: Value) -> LResult<()> {
    if t.get().meta.is_none() {
        vm.table_set(t, Value::Int(i), v);
        Ok(())
    } else {
        vm.set_index(Value::Table(t), Value::Int(i), v, None)
    }
}

pub fn unpack(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let t = check_table(vm, base, n, 0, "unpack")?;
    let i = opt_int(vm, base, n, 1, "unpack", 1)?;
    let j = if arg(vm, base, n, 2).is_nil() {
        len_of(vm, t)?
    } else {
        check_int(vm, base, n, 2, "unpack")?
    };
    if i > j {
        return Ok(R::Zero);
    }
    let cnt = (j as i128 - i as i128 + 1) as u128;
    if cnt >= 1_000_000 {
        return Err(vm.rt_error("too many results to unpack"));
    }
    let mut v = Vec::with_capacity(cnt as usize);
    for k in i..=j {
        v.push(geti(vm, t, k)?);
    }
    Ok(R::Many(v))
}

fn pack(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let t = vm.new_table(n, 1);
    for i in 0..n {
        let v = vm.stack[base + i];
        vm.table_set(t, Value::Int(i as i64 + 1), v);
    }
    set_field(vm, t, "n", Value::Int(n as i64));
    Ok(R::One(Value::Table(t)))
}

fn insert(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let t = check_table(vm, base, n, 0, "insert")?;
    let e = len_of(vm, t)?.wrapping_add(1);
    match n {
        2 => {
            let v = vm.stack[base + 1];
            seti(vm, t, e, v)?;
        }
        3 => {
            let pos = check_int(vm, base, n, 1, "insert")?;
            if (pos as u64).wrapping_sub(1) >= e as u64 {
                return Err(arg_error(vm, 1, "insert", "position out of bounds"));
            }
            let mut i = e;
            while i > pos {
                let v = geti(vm, t, i - 1)?;
                seti(vm, t, i, v)?;
                i -= 1;
            }
            let v = vm.stack[base + 2];
            seti(vm, t, pos, v)?;
        }
        _ => return Err(vm.rt_error("wrong number of arguments to 'insert'")),
    }
    Ok(R::Zero)
}

fn remove(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let t = check_table(vm, base, n, 0, "remove")?;
    let size = len_of(vm, t)?;
    let mut pos = size;
    if n >= 2 {
        pos = check_int(vm, base, n, 1, "remove")?;
        if pos != size && (pos as u64).wrapping_sub(1) > size as u64 {
            return Err(arg_error(vm, 0, "remove", "position out of bounds"));
        }
    }
    let v = geti(vm, t, pos)?;
    let mut p = pos;
    while p < size {
        let nx = geti(vm, t, p + 1)?;
        seti(vm, t, p, nx)?;
        p += 1;
    }
    seti(vm, t, p, Value::Nil)?;
    Ok(R::One(v))
}

fn concat(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let t = check_table(vm, base, n, 0, "concat")?;
    let sep = opt_str(vm, base, n, 1, "concat")?;
    let i = opt_int(vm, base, n, 2, "concat", 1)?;
    let j = if arg(vm, base, n, 3).is_nil() {
        len_of(vm, t)?
    } else {
        check_int(vm, base, n, 3, "concat")?
    };
    let sepb: Vec<u8> = sep.map(|s| s.get().bytes.to_vec()).unwrap_or_default();
    let mut out = Vec::new();
    let mut k = i;
    while k <= j {
        let v = geti(vm, t, k)?;
        match v {
            Value::Str(s) => out.extend_from_slice(&s.get().bytes),
            Value::Int(_) | Value::Num(_) => out.extend(vm.tostring_basic(v)),
            _ => {
                let _ = v;
                let tn = v.type_name();
                return Err(vm.rt_error(&format!(
                    "invalid value ({}) at index {} in table for 'concat'",
                    tn, k
                )));
            }
        }
        if k < j {
            out.extend_from_slice(&sepb);
        }
        if k == i64::MAX {
            break;
        }
        k += 1;
    }
    Ok(R::One(vm.str(&out)))
}

struct SortCtx<'a> {
    vm: &'a mut Vm,
    t: Gc<Table>,
    cmp: Value,
}

impl SortTable for SortCtx<'_> {
    type Value = Value;
    type Error = LuaError;
    fn get(&mut self, i: u32) -> Result<Value, LuaError> {
        geti(self.vm, self.t, i as i64)
    }
    fn set(&mut self, i: u32, v: Value) -> Result<(), LuaError> {
        seti(self.vm, self.t, i as i64, v)
    }
    fn less(&mut self, a: &Value, b: &Value) -> Result<bool, LuaError> {
        if self.cmp.is_nil() {
            return self.vm.less_than(*a, *b);
        }
        // a and b may only live in Rust locals here: root them
        self.vm.temp_roots.push(*a);
        self.vm.temp_roots.push(*b);
        let r = self.vm.call_value(self.cmp, &[*a, *b], 1);
        self.vm.temp_roots.pop();
        self.vm.temp_roots.pop();
        Ok(r?[0].truthy())
    }
}

fn tsort(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let t = check_table(vm, base, n, 0, "sort")?;
    let cmp = arg(vm, base, n, 1);
    if !matches!(cmp, Value::Nil | Value::LFn(_) | Value::NFn(_)) {
        return Err(type_err(vm, base, n, 1, "sort", "function"));
    }
    let len = len_of(vm, t)?;
    let mut ctx = SortCtx { vm, t, cmp };
    match sort::sort(&mut ctx, len) {
        Ok(()) => Ok(R::Zero),
        Err(SortError::Vm(e)) => Err(e),
        Err(e) => {
            let m = e.message("sort").unwrap_or_default();
            Err(vm.rt_error(&m))
        }
    }
}

fn tmove(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let a1 = check_table(vm, base, n, 0, "move")?;
    let f = check_int(vm, base, n, 1, "move")?;
    let e = check_int(vm, base, n, 2, "move")?;
    let t = check_int(vm, base, n, 3, "move")?;
    let tt = if n >= 5 && !vm.stack[base + 4].is_nil() {
        check_table(vm, base, n, 4, "move")?
    } else {
        a1
    };
    if e >= f {
        if !(f > 0 || e < i64::MAX + f) {
            return Err(arg_error(vm, 2, "move", "too many elements to move"));
        }
        if t > i64::MAX - (e - f) {
            return Err(arg_error(vm, 3, "move", "destination wrap around"));
        }
        if t > e || t <= f || !Gc::ptr_eq(a1, tt) {
            for i in 0..=(e - f) {
                let v = geti(vm, a1, f + i)?;
                seti(vm, tt, t + i, v)?;
            }
        } else {
            let mut i = e - f;
            loop {
                let v = geti(vm, a1, f + i)?;
                seti(vm, tt, t + i, v)?;
                if i == 0 {
                    break;
                }
                i -= 1;
            }
        }
    }
    Ok(R::One(Value::Table(tt)))
}
