//! `math` library. `math.random` uses lua5.4's xoshiro256** from
//! [`super::support::random`].

use super::lib_base::*;
use super::support::random::{LuaRng, RandomValue};
use super::value::*;
use super::vm::{LResult, Vm, R};
use std::cell::RefCell;

thread_local! {
    static RNG: RefCell<LuaRng> = RefCell::new(LuaRng::new(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0),
        0,
    ));
}

pub fn open(vm: &mut Vm) {
    let t = vm.new_table(0, 32);
    let g = vm.globals;
    set_field(vm, g, "math", Value::Table(t));
    set_field(vm, t, "pi", Value::Num(std::f64::consts::PI));
    set_field(vm, t, "huge", Value::Num(f64::INFINITY));
    set_field(vm, t, "maxinteger", Value::Int(i64::MAX));
    set_field(vm, t, "mininteger", Value::Int(i64::MIN));
    reg_fn(vm, t, "floor", floor);
    reg_fn(vm, t, "ceil", ceil);
    reg_fn(vm, t, "abs", abs);
    reg_fn(vm, t, "sqrt", sqrt);
    reg_fn(vm, t, "sin", sin);
    reg_fn(vm, t, "cos", cos);
    reg_fn(vm, t, "tan", tan);
    reg_fn(vm, t, "asin", |vm, b, n| f1(vm, b, n, "asin", f64::asin));
    reg_fn(vm, t, "acos", |vm, b, n| f1(vm, b, n, "acos", f64::acos));
    reg_fn(vm, t, "exp", exp);
    reg_fn(vm, t, "atan", atan);
    reg_fn(vm, t, "deg", |vm, b, n| {
        f1(vm, b, n, "deg", f64::to_degrees)
    });
    reg_fn(vm, t, "rad", |vm, b, n| {
        f1(vm, b, n, "rad", f64::to_radians)
    });
    reg_fn(vm, t, "log", log);
    reg_fn(vm, t, "fmod", fmod);
    reg_fn(vm, t, "modf", modf);
    reg_fn(vm, t, "tointeger", tointeger);
    reg_fn(vm, t, "type", mtype);
    reg_fn(vm, t, "max", max);
    reg_fn(vm, t, "min", min);
    reg_fn(vm, t, "ult", ult);
    reg_fn(vm, t, "random", random);
    reg_fn(vm, t, "randomseed", randomseed);
}

fn f1(vm: &mut Vm, base: usize, n: usize, name: &str, f: fn(f64) -> f64) -> LResult<R> {
    let x = check_f64(vm, base, n, 0, name)?;
    Ok(R::One(Value::Num(f(x))))
}

// The float functions the JIT can record as pure calls (see
// `float_function`): named, so that their addresses identify them, and
// computing through `extern "C"` functions that compiled code calls too.
extern "C" fn c_sqrt(x: f64) -> f64 {
    x.sqrt()
}
extern "C" fn c_sin(x: f64) -> f64 {
    x.sin()
}
extern "C" fn c_cos(x: f64) -> f64 {
    x.cos()
}
extern "C" fn c_tan(x: f64) -> f64 {
    x.tan()
}
extern "C" fn c_exp(x: f64) -> f64 {
    x.exp()
}
fn sqrt(vm: &mut Vm, b: usize, n: usize) -> LResult<R> {
    f1(vm, b, n, "sqrt", |x| c_sqrt(x))
}
fn sin(vm: &mut Vm, b: usize, n: usize) -> LResult<R> {
    f1(vm, b, n, "sin", |x| c_sin(x))
}
fn cos(vm: &mut Vm, b: usize, n: usize) -> LResult<R> {
    f1(vm, b, n, "cos", |x| c_cos(x))
}
fn tan(vm: &mut Vm, b: usize, n: usize) -> LResult<R> {
    f1(vm, b, n, "tan", |x| c_tan(x))
}
fn exp(vm: &mut Vm, b: usize, n: usize) -> LResult<R> {
    f1(vm, b, n, "exp", |x| c_exp(x))
}

/// A float function's name and computation (callable from compiled code).
pub type FloatOp = (&'static str, extern "C" fn(f64) -> f64);

/// If `f` is one of `math`'s float functions of one number (`sqrt`, `sin`,
/// `cos`, `tan`, `exp`), its name and the computation it does on a number
/// argument: the JIT records a call of it as a pure float operation.
/// (Function addresses identify them: a false negative, two addresses for
/// one function, only means the call is not recorded.)
pub fn float_function(f: crate::lua::vm::NativeFn) -> Option<FloatOp> {
    type Entry = (
        crate::lua::vm::NativeFn,
        &'static str,
        extern "C" fn(f64) -> f64,
    );
    let table: [Entry; 5] = [
        (sqrt, "sqrt", c_sqrt),
        (sin, "sin", c_sin),
        (cos, "cos", c_cos),
        (tan, "tan", c_tan),
        (exp, "exp", c_exp),
    ];
    let a = f as usize;
    table
        .iter()
        .find(|(g, _, _)| *g as usize == a)
        .map(|&(_, name, op)| (name, op))
}

fn floor(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    match check_num(vm, base, n, 0, "floor")? {
        Value::Num(f) => {
            let fl = f.floor();
            Ok(R::One(match float_to_int_exact(fl) {
                Some(i) => Value::Int(i),
                None => Value::Num(fl),
            }))
        }
        v => Ok(R::One(v)),
    }
}

fn ceil(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    match check_num(vm, base, n, 0, "ceil")? {
        Value::Num(f) => {
            let c = f.ceil();
            Ok(R::One(match float_to_int_exact(c) {
                Some(i) => Value::Int(i),
                None => Value::Num(c),
            }))
        }
        v => Ok(R::One(v)),
    }
}

fn abs(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    Ok(R::One(match check_num(vm, base, n, 0, "abs")? {
        Value::Int(i) => Value::Int(i.wrapping_abs()),
        Value::Num(f) => Value::Num(f.abs()),
        v => v,
    }))
}

fn atan(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let y = check_f64(vm, base, n, 0, "atan")?;
    let x = if arg(vm, base, n, 1).is_nil() {
        1.0
    } else {
        check_f64(vm, base, n, 1, "atan")?
    };
    Ok(R::One(Value::Num(y.atan2(x))))
}

fn log(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let x = check_f64(vm, base, n, 0, "log")?;
    let r = if arg(vm, base, n, 1).is_nil() {
        x.ln()
    } else {
        let b = check_f64(vm, base, n, 1, "log")?;
        if b == 2.0 {
            x.log2()
        } else if b == 10.0 {
            x.log10()
        } else {
            x.ln() / b.ln()
        }
    };
    Ok(R::One(Value::Num(r)))
}

fn fmod(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let a = check_num(vm, base, n, 0, "fmod")?;
    let b = check_num(vm, base, n, 1, "fmod")?;
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        if y == 0 {
            return Err(arg_error(vm, 1, "fmod", "zero"));
        }
        if y == -1 {
            return Ok(R::One(Value::Int(0)));
        }
        return Ok(R::One(Value::Int(x % y)));
    }
    let f = |v: Value| match v {
        Value::Int(i) => i as f64,
        Value::Num(f) => f,
        _ => 0.0,
    };
    Ok(R::One(Value::Num(f(a) % f(b))))
}

fn modf(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    if let Value::Int(i) = check_num(vm, base, n, 0, "modf")? {
        return Ok(R::Two(Value::Int(i), Value::Num(0.0)));
    }
    let x = check_f64(vm, base, n, 0, "modf")?;
    let ip = if x.is_infinite() { x } else { x.trunc() };
    let fp = if x.is_infinite() { 0.0 } else { x - ip };
    let ipv = match float_to_int_exact(ip) {
        Some(i) => Value::Int(i),
        _ => Value::Num(ip),
    };
    Ok(R::Two(ipv, Value::Num(fp)))
}

fn tointeger(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    Ok(R::One(match arg(vm, base, n, 0) {
        Value::Int(i) => Value::Int(i),
        Value::Num(f) => float_to_int_exact(f).map(Value::Int).unwrap_or(Value::Nil),
        Value::Str(s) => match super::numparse::str_to_number(&s.get().bytes) {
            Some(Value::Int(i)) => Value::Int(i),
            Some(Value::Num(f)) => float_to_int_exact(f).map(Value::Int).unwrap_or(Value::Nil),
            _ => Value::Nil,
        },
        _ => {
            check_any(vm, base, n, 0, "tointeger")?;
            Value::Nil
        }
    }))
}

fn mtype(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let v = check_any(vm, base, n, 0, "type")?;
    Ok(R::One(match v {
        Value::Int(_) => vm.str(b"integer"),
        Value::Num(_) => vm.str(b"float"),
        _ => Value::Nil,
    }))
}

fn minmax(vm: &mut Vm, base: usize, n: usize, name: &str, want_max: bool) -> LResult<R> {
    if n == 0 {
        return Err(arg_error(vm, 0, name, "value expected"));
    }
    let mut best = check_num(vm, base, n, 0, name)?;
    for i in 1..n {
        let v = vm.stack[base + i];
        let better = if want_max {
            vm.less_than(best, v)?
        } else {
            vm.less_than(v, best)?
        };
        if better {
            best = v;
        }
    }
    Ok(R::One(best))
}

fn max(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    minmax(vm, base, n, "max", true)
}

fn min(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    minmax(vm, base, n, "min", false)
}

fn ult(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let a = check_int(vm, base, n, 0, "ult")?;
    let b = check_int(vm, base, n, 1, "ult")?;
    Ok(R::One(Value::Bool((a as u64) < (b as u64))))
}

fn random(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let mut args = Vec::with_capacity(2);
    for i in 0..n.min(3) {
        args.push(check_int(vm, base, n, i, "random")?);
    }
    if n > 2 {
        return Err(vm.rt_error("wrong number of arguments"));
    }
    let r = RNG.with(|r| r.borrow_mut().random(&args));
    match r {
        Ok(RandomValue::Float(f)) => Ok(R::One(Value::Num(f))),
        Ok(RandomValue::Int(i)) => Ok(R::One(Value::Int(i))),
        Err(e) => {
            let m = e.message();
            if m == "wrong number of arguments" {
                Err(vm.rt_error(m))
            } else {
                Err(arg_error(vm, 0, "random", m))
            }
        }
    }
}

fn randomseed(vm: &mut Vm, base: usize, n: usize) -> LResult<R> {
    let (a, b) = if n == 0 {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        (t, 0)
    } else {
        let a = check_int(vm, base, n, 0, "randomseed")?;
        let b = opt_int(vm, base, n, 1, "randomseed", 0)?;
        (a, b)
    };
    let (x, y) = RNG.with(|r| r.borrow_mut().seed(a, b));
    Ok(R::Two(Value::Int(x), Value::Int(y)))
}
