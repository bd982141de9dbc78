//! The flowgraph language: the tutorial client of the meta-tracer API.
//!
//! From the post "Comparing Partial Evaluation and Tracing, Part 1": a
//! program is labelled blocks of `op1`/`op2` operations on variables,
//! ended by `jump`, `if` or `print_and_stop`. Our text syntax (`.fg`):
//!
//! ```text
//! power:
//!     res = same 1
//!     if y then power_rec else power_done
//! power_rec:
//!     res = mul res, x
//!     y = sub y, 1
//!     if y then power_rec else power_done
//! power_done:
//!     print_and_stop res
//! ```
//!
//! Operations: `same a`, `add/sub/mul/eq/ge a, b`, `readlist list, index`;
//! operands are variables or integer constants; inputs come from the
//! command line (`x=10 l=[1,2,3]`). Integers overflowing 64 bits are an
//! error. This file is the whole JIT integration a language needs: a green
//! key (the pc), red slots (the variables), a step function written once
//! over a [`Tracer`], and a loop that calls the driver at backward jumps.

use meta_tracer::prelude::*;
use std::collections::HashMap;

const INT: u8 = 0;
const LIST: u8 = 1;

/// An immutable list of integers, laid out for the JIT's array descriptor.
#[repr(C)]
pub struct ListObj {
    len: i64,
    items: *const i64,
    storage: Vec<i64>,
}

/// A flowgraph value.
#[derive(Clone, Copy, Debug)]
pub enum Val {
    /// An integer.
    Int(i64),
    /// A list, owned by the [`Program`] for its whole life.
    List(*const ListObj),
}

#[derive(Clone, Copy, Debug)]
enum Arg {
    Var(u32),
    Const(i64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Eq,
    Ge,
    ReadList,
}

#[derive(Clone, Debug)]
enum Instr {
    Same(u32, Arg),
    Op2(u32, BinOp, Arg, Arg),
    Jump(u32),
    If(Arg, u32, u32),
    PrintAndStop(Arg),
}

/// A parsed program with its variables and lists.
pub struct Program {
    code: Vec<(Instr, u32)>,
    vars: Vec<String>,
    // Boxed so that each list keeps its address when the vector grows:
    // values and compiled traces hold raw pointers to lists.
    #[allow(clippy::vec_box)]
    lists: Vec<Box<ListObj>>,
    file: String,
}

/// Parses a program; errors are `file:line: message`.
pub fn parse(file: &str, src: &str) -> Result<Program, String> {
    let mut p = Program {
        code: Vec::new(),
        vars: Vec::new(),
        lists: Vec::new(),
        file: file.into(),
    };
    let mut labels = HashMap::new();
    let mut fixups: Vec<(usize, u32, String)> = Vec::new();
    let var = |p: &mut Program, n: &str| -> u32 {
        p.vars.iter().position(|v| v == n).unwrap_or_else(|| {
            p.vars.push(n.into());
            p.vars.len() - 1
        }) as u32
    };
    for (ln, raw) in src.lines().enumerate() {
        let (line, ln) = (raw.split('#').next().unwrap_or("").trim(), ln as u32 + 1);
        let err = |m: &str| format!("{file}:{ln}: {m}");
        if line.is_empty() {
            continue;
        }
        if let Some(l) = line.strip_suffix(':') {
            labels.insert(l.trim().to_string(), p.code.len() as u32);
            continue;
        }
        let arg = |p: &mut Program, s: &str| -> Result<Arg, String> {
            let s = s.trim();
            match s.parse::<i64>() {
                Ok(c) => Ok(Arg::Const(c)),
                Err(_) if !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                    Ok(Arg::Var(var(p, s)))
                }
                Err(_) => Err(err(&format!("bad operand '{s}'"))),
            }
        };
        let w: Vec<&str> = line.split_whitespace().collect();
        let instr = match w.as_slice() {
            ["jump", l] => {
                fixups.push((p.code.len(), 0, l.to_string()));
                Instr::Jump(0)
            }
            ["if", c, "then", a, "else", b] => {
                fixups.push((p.code.len(), 0, a.to_string()));
                fixups.push((p.code.len(), 1, b.to_string()));
                Instr::If(arg(&mut p, c)?, 0, 0)
            }
            ["print_and_stop", a] => Instr::PrintAndStop(arg(&mut p, a)?),
            [dst, "=", op, rest @ ..] => {
                let dst = var(&mut p, dst);
                let rest = rest.join(" ");
                let args: Vec<&str> = rest.split(',').collect();
                let bin = match *op {
                    "add" => BinOp::Add,
                    "sub" => BinOp::Sub,
                    "mul" => BinOp::Mul,
                    "eq" => BinOp::Eq,
                    "ge" => BinOp::Ge,
                    "readlist" => BinOp::ReadList,
                    "same" if args.len() == 1 => {
                        let a = arg(&mut p, args[0])?;
                        p.code.push((Instr::Same(dst, a), ln));
                        continue;
                    }
                    _ => {
                        return Err(err(&format!(
                            "unknown operation '{op}' or wrong operand count"
                        )))
                    }
                };
                if args.len() != 2 {
                    return Err(err(&format!("'{op}' takes two operands")));
                }
                Instr::Op2(dst, bin, arg(&mut p, args[0])?, arg(&mut p, args[1])?)
            }
            _ => return Err(err(&format!("cannot parse '{line}'"))),
        };
        p.code.push((instr, ln));
    }
    for (at, which, l) in fixups {
        let target = *labels
            .get(&l)
            .ok_or_else(|| format!("{file}:{}: unknown label '{l}'", p.code[at].1))?;
        match (&mut p.code[at].0, which) {
            (Instr::Jump(t), _) | (Instr::If(_, t, _), 0) | (Instr::If(_, _, t), _) => *t = target,
            _ => {}
        }
    }
    if p.code.is_empty() {
        return Err(format!("{file}: empty program"));
    }
    Ok(p)
}

impl Program {
    /// `file:line opcode` for a pc (the printable green location).
    pub fn location(&self, pc: u32) -> String {
        let (i, ln) = &self.code[pc as usize];
        let name = match i {
            Instr::Same(..) => "same",
            Instr::Op2(_, op, ..) => ["add", "sub", "mul", "eq", "ge", "readlist"][*op as usize],
            Instr::Jump(_) => "jump",
            Instr::If(..) => "if",
            Instr::PrintAndStop(_) => "print_and_stop",
        };
        format!("{}:{ln} {name}", self.file)
    }

    /// Parses an input value (`10`, `[1,2,3]`), keeping lists alive in the
    /// program.
    pub fn value(&mut self, s: &str) -> Result<Val, String> {
        if let Some(body) = s.trim().strip_prefix('[').and_then(|b| b.strip_suffix(']')) {
            let storage = body
                .split(',')
                .filter(|x| !x.trim().is_empty())
                .map(|x| x.trim().parse::<i64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| format!("bad list '{s}'"))?;
            let mut l = Box::new(ListObj {
                len: storage.len() as i64,
                items: std::ptr::null(),
                storage,
            });
            l.items = l.storage.as_ptr();
            let ptr: *const ListObj = &*l;
            self.lists.push(l);
            return Ok(Val::List(ptr));
        }
        s.trim()
            .parse()
            .map(Val::Int)
            .map_err(|_| format!("bad value '{s}'"))
    }

    /// The slot of a variable, if the program uses it.
    pub fn var_slot(&self, name: &str) -> Option<usize> {
        self.vars.iter().position(|v| v == name)
    }

    /// Renders a value.
    pub fn show(&self, v: Val) -> String {
        match v {
            Val::Int(i) => i.to_string(),
            // SAFETY: lists are owned by `self.lists` for the program's life.
            Val::List(l) => format!("{:?}", unsafe { &(*l).storage }),
        }
    }
}

struct Frame {
    vars: Vec<Val>,
}

// SAFETY: tag LIST always carries a pointer to a ListObj owned by the
// Program, alive for the whole run; tag INT carries an integer.
unsafe impl RedFrame for Frame {
    fn read_slot(&self, s: u32) -> (u8, u64) {
        match self.vars[s as usize] {
            Val::Int(i) => (INT, i as u64),
            Val::List(l) => (LIST, l as u64),
        }
    }
    fn write_slot(&mut self, s: u32, tag: u8, bits: u64) {
        self.vars[s as usize] = if tag == LIST {
            Val::List(bits as *const ListObj)
        } else {
            Val::Int(bits as i64)
        };
    }
}

/// How a step leaves the normal flow: the program stopped, or failed.
enum Exit {
    Stop(Val),
    Error(String),
}

fn list_descr() -> ArrayDescr {
    ArrayDescr {
        name: "List.items".into(),
        len_offset: 0,
        items_offset: 8,
        indirect: true,
        item_ty: Type::Int,
        item_size: 8,
    }
}

/// Executes the instruction at `pc`, telling the tracer what it does;
/// returns the next pc (a backward jump when it is not greater than `pc`).
#[inline(always)]
fn step<T: Tracer<u32>>(t: &mut T, prog: &Program, vars: &mut [Val], pc: u32) -> Result<u32, Exit> {
    t.at(pc);
    let instr = &prog.code[pc as usize].0;
    let err = |m: &str| Exit::Error(format!("{}:{}: {m}", prog.file, prog.code[pc as usize].1));
    let overflow = |t: &mut T| {
        t.abort(AbortReason::GuestError);
        err("integer overflow")
    };
    let read = |t: &mut T, vars: &[Val], a: Arg| match a {
        Arg::Const(c) => (Val::Int(c), t.const_int(c)),
        Arg::Var(s) => match vars[s as usize] {
            v @ Val::Int(_) => (v, t.read(s, INT, Type::Int)),
            v @ Val::List(_) => (v, t.read(s, LIST, Type::Ref)),
        },
    };
    Ok(match *instr {
        Instr::Same(d, a) => {
            let (v, tv) = read(t, vars, a);
            t.write(d, if matches!(v, Val::List(_)) { LIST } else { INT }, tv);
            vars[d as usize] = v;
            pc + 1
        }
        Instr::Op2(d, op, a, b) => {
            let ((va, ta), (vb, tb)) = (read(t, vars, a), read(t, vars, b));
            let r = match (op, va, vb) {
                (BinOp::ReadList, Val::List(l), Val::Int(i)) => {
                    // SAFETY: lists live as long as the program.
                    let l = unsafe { &*l };
                    let ok = i >= 0 && i < l.len;
                    let zero = t.const_int(0);
                    let nonneg = t.op(Opcode::IntGe, &[tb, zero]);
                    t.branch(nonneg, i >= 0);
                    if i >= 0 {
                        let len = t.heap(Opcode::ArrayLen, Descr::Array(list_descr()), &[ta]);
                        let inb = t.op(Opcode::IntLt, &[tb, len]);
                        t.branch(inb, ok);
                    }
                    if !ok {
                        t.abort(AbortReason::GuestError);
                        return Err(err(&format!(
                            "index {i} out of range for a list of length {}",
                            l.len
                        )));
                    }
                    let v = t.heap(Opcode::GetArrayItem, Descr::Array(list_descr()), &[ta, tb]);
                    (l.storage[i as usize], v)
                }
                // One flat match on (operation, operand types), as a
                // hand-written interpreter would have; the tracer call sits
                // in each arm so that no opcode exists in plain mode.
                (BinOp::Add, Val::Int(x), Val::Int(y)) => match x.checked_add(y) {
                    Some(r) => (r, t.op(Opcode::IntAddOvf, &[ta, tb])),
                    None => return Err(overflow(t)),
                },
                (BinOp::Sub, Val::Int(x), Val::Int(y)) => match x.checked_sub(y) {
                    Some(r) => (r, t.op(Opcode::IntSubOvf, &[ta, tb])),
                    None => return Err(overflow(t)),
                },
                (BinOp::Mul, Val::Int(x), Val::Int(y)) => match x.checked_mul(y) {
                    Some(r) => (r, t.op(Opcode::IntMulOvf, &[ta, tb])),
                    None => return Err(overflow(t)),
                },
                (BinOp::Eq, Val::Int(x), Val::Int(y)) => {
                    ((x == y) as i64, t.op(Opcode::IntEq, &[ta, tb]))
                }
                (BinOp::Ge, Val::Int(x), Val::Int(y)) => {
                    ((x >= y) as i64, t.op(Opcode::IntGe, &[ta, tb]))
                }
                (BinOp::ReadList, _, _) => return Err(err("readlist needs a list and an integer")),
                _ => return Err(err("arithmetic on a list")),
            };
            t.write(d, INT, r.1);
            vars[d as usize] = Val::Int(r.0);
            pc + 1
        }
        Instr::Jump(target) => target,
        Instr::If(c, then, els) => match read(t, vars, c) {
            (Val::Int(v), tv) => {
                t.branch(tv, v != 0);
                if v != 0 {
                    then
                } else {
                    els
                }
            }
            _ => return Err(err("if on a list")),
        },
        Instr::PrintAndStop(a) => {
            t.abort(AbortReason::ProgramEnded);
            return Err(Exit::Stop(read(t, vars, a).0));
        }
    })
}

/// Runs `prog` with `inputs` (variable values by name) under `jit`.
pub fn run(
    prog: &Program,
    inputs: &[(String, Val)],
    jit: &mut JitDriver<u32>,
) -> Result<Val, String> {
    let mut f = Frame {
        vars: vec![Val::Int(0); prog.vars.len()],
    };
    for (name, v) in inputs {
        if let Some(s) = prog.var_slot(name) {
            f.vars[s] = *v;
        }
    }
    let mut pc = 0u32;
    if !jit.enabled() {
        // No JIT: no merge points either.
        loop {
            match step(&mut Plain, prog, &mut f.vars, pc) {
                Ok(n) => pc = n,
                Err(Exit::Stop(v)) => return Ok(v),
                Err(Exit::Error(e)) => return Err(e),
            }
        }
    }
    loop {
        // Plain interpretation: the tracer calls compile to nothing, and
        // the only JIT cost is one flag test at backward jumps.
        // The slice is a local: stores into it cannot alias its pointer
        // and length, which stay in registers (the frame itself escapes to
        // the JIT at merge points).
        let vars = &mut f.vars[..];
        let target = loop {
            match step(&mut Plain, prog, vars, pc) {
                Ok(n) if n <= pc && jit.enabled() => break n,
                Ok(n) => pc = n,
                Err(Exit::Stop(v)) => return Ok(v),
                Err(Exit::Error(e)) => return Err(e),
            }
        };
        pc = target;
        let rec = match jit.can_enter_jit(pc, &mut f) {
            Enter::Interpret => continue,
            Enter::Resumed(g) => {
                pc = g;
                continue;
            }
            Enter::Record(r) => r,
        };
        if let Some(result) = record(rec, prog, &mut f, &mut pc, jit) {
            return result;
        }
        // Back at the loop header after recording: enter the new trace.
        match jit.can_enter_jit(pc, &mut f) {
            Enter::Resumed(g) => pc = g,
            Enter::Interpret => {}
            Enter::Record(r) => jit.abandon(r, AbortReason::NotRecordable),
        }
    }
}

/// Recording: the same step function, monomorphized with the recorder,
/// until the driver closes or abandons the trace. Returns the program's
/// result if it ended while recording. Kept out of line so that the plain
/// loop in [`run`] stays small.
#[inline(never)]
fn record(
    mut rec: Box<Recorder<u32>>,
    prog: &Program,
    f: &mut Frame,
    pc: &mut u32,
    jit: &mut JitDriver<u32>,
) -> Option<Result<Val, String>> {
    loop {
        match step(&mut *rec, prog, &mut f.vars, *pc) {
            Ok(n) if n <= *pc => {
                *pc = n;
                match jit.recording_at(rec, n) {
                    Recording::Continue(r) => rec = r,
                    Recording::Done => return None,
                }
            }
            Ok(n) => *pc = n,
            Err(exit) => {
                let (reason, result) = match exit {
                    Exit::Stop(v) => (AbortReason::ProgramEnded, Ok(v)),
                    Exit::Error(e) => (AbortReason::GuestError, Err(e)),
                };
                jit.abandon(rec, reason);
                return Some(result);
            }
        }
    }
}

/// The same interpreter written without the JIT API (no tracer, no merge
/// points): the baseline of the benchmark showing that the annotated
/// interpreter with the JIT disabled costs nothing extra.
pub fn run_without_jit_api(prog: &Program, inputs: &[(String, Val)]) -> Result<Val, String> {
    let mut vars = vec![Val::Int(0); prog.vars.len()];
    for (name, v) in inputs {
        if let Some(s) = prog.var_slot(name) {
            vars[s] = *v;
        }
    }
    let mut pc = 0usize;
    loop {
        let (instr, ln) = &prog.code[pc];
        let err = |m: &str| format!("{}:{ln}: {m}", prog.file);
        let get = |a: Arg| match a {
            Arg::Const(c) => Val::Int(c),
            Arg::Var(s) => vars[s as usize],
        };
        match *instr {
            Instr::Same(d, a) => vars[d as usize] = get(a),
            Instr::Op2(d, op, a, b) => {
                let r = match (op, get(a), get(b)) {
                    (BinOp::ReadList, Val::List(l), Val::Int(i)) => {
                        // SAFETY: lists live as long as the program.
                        let l = unsafe { &*l };
                        *l.storage
                            .get(usize::try_from(i).map_err(|_| err("negative index"))?)
                            .ok_or_else(|| err("index out of range"))?
                    }
                    (BinOp::Add, Val::Int(x), Val::Int(y)) => {
                        x.checked_add(y).ok_or_else(|| err("integer overflow"))?
                    }
                    (BinOp::Sub, Val::Int(x), Val::Int(y)) => {
                        x.checked_sub(y).ok_or_else(|| err("integer overflow"))?
                    }
                    (BinOp::Mul, Val::Int(x), Val::Int(y)) => {
                        x.checked_mul(y).ok_or_else(|| err("integer overflow"))?
                    }
                    (BinOp::Eq, Val::Int(x), Val::Int(y)) => (x == y) as i64,
                    (BinOp::Ge, Val::Int(x), Val::Int(y)) => (x >= y) as i64,
                    _ => return Err(err("type error")),
                };
                vars[d as usize] = Val::Int(r);
            }
            Instr::Jump(t) => {
                pc = t as usize;
                continue;
            }
            Instr::If(c, t, e) => {
                let Val::Int(v) = get(c) else {
                    return Err(err("if on a list"));
                };
                pc = if v != 0 { t } else { e } as usize;
                continue;
            }
            Instr::PrintAndStop(a) => return Ok(get(a)),
        }
        pc += 1;
    }
}
