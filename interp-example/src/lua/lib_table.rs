//! `table` library.
use super::lib_base::*;
use super::value::*;
use super::vm::{LResult, Vm, R};

pub fn open(vm: &mut Vm) {
    let t = vm.new_table(0, 8);
    let g = vm.globals;
    set_field(vm, g, "table", Value::Table(t));
    reg_fn(vm, t, "unpack", unpack);
}

pub fn unpack(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let t = check_table(vm, base, n, 0, "unpack")?;
    let i = opt_int(vm, base, n, 1, "unpack", 1)?;
    let j = if arg(vm, base, n, 2).is_nil() {
        t.get().len()
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
        v.push(t.get().get_int(k));
    }
    Ok(R::Many(v))
}
