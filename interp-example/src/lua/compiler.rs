//! Stage 3: AST → register bytecode.
//!
//! One pass over the AST per function. Locals live in fixed registers in
//! declaration order; temporaries are allocated above them (`freereg`) with
//! a stack discipline and released at the end of each expression or
//! statement. Name resolution follows Lua 5.4: locals, then upvalues
//! (captured through the enclosing functions), then `_ENV.name` (the main
//! chunk's upvalue 0 is `_ENV`, so globals are `GetTabUp`).
//!
//! Blocks track whether any of their locals was captured by a closure; loop
//! bodies with captured locals end each iteration with `Close` so each
//! iteration gets fresh upvalue cells. `break`/`goto` out of a scope emit
//! `Close` conservatively. Multiple assignment evaluates every index prefix
//! and every right-hand side before storing, storing right to left as
//! lua5.4 does.

use super::ast::*;
use super::bytecode::{Instr, RK_CONST};
use super::heap::Heap;
use super::value::{Proto, Value};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT_PROTO_ID: AtomicU32 = AtomicU32::new(1);

const MAX_REGS: usize = 250;

#[derive(PartialEq, Eq, Hash)]
enum ConstKey {
    Nil,
    Bool(bool),
    Int(i64),
    Num(u64),
    Str(Vec<u8>),
}

struct LocalVar {
    name: Vec<u8>,
    reg: u8,
    debug_idx: usize,
    is_const: bool,
}

struct BlockScope {
    nactive: usize,
    is_loop: bool,
    breaks: Vec<usize>,
    has_upval: bool,
    first_label: usize,
    first_goto: usize,
}

struct Label {
    name: Vec<u8>,
    pc: usize,
    nactive: usize,
}

struct PendingGoto {
    name: Vec<u8>,
    close_pc: usize,
    jmp_pc: usize,
    line: u32,
    nactive: usize,
}

struct FuncState {
    code: Vec<Instr>,
    lines: Vec<u32>,
    consts: Vec<Value>,
    const_map: HashMap<ConstKey, u32>,
    protos: Vec<Rc<Proto>>,
    upvals: Vec<(Vec<u8>, bool, u8)>,
    actives: Vec<LocalVar>,
    blocks: Vec<BlockScope>,
    labels: Vec<Label>,
    gotos: Vec<PendingGoto>,
    debug_locals: Vec<(Vec<u8>, u8, u32, u32)>,
    freereg: usize,
    max_stack: usize,
    is_vararg: bool,
    num_params: u8,
}

enum Var {
    Local(u8),
    Upval(u8),
    Global,
}

pub struct Compiler<'h> {
    heap: &'h mut Heap,
    fs: Vec<FuncState>,
    chunk: Rc<str>,
    line: u32,
}

type CResult<T> = Result<T, String>;

fn is_multi(e: &Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::Call(..) | ExprKind::Method(..) | ExprKind::Vararg
    )
}

/// Compiles a parsed chunk into its main function prototype.
pub fn compile_chunk(heap: &mut Heap, body: &FuncBody, chunk: &str) -> CResult<Rc<Proto>> {
    let mut c = Compiler {
        heap,
        fs: vec![],
        chunk: chunk.into(),
        line: 0,
    };
    c.function(body, true)
}

impl<'h> Compiler<'h> {
    fn f(&mut self) -> &mut FuncState {
        self.fs.last_mut().unwrap()
    }

    fn err(&self, msg: &str) -> String {
        format!("{}:{}: {}", self.chunk, self.line, msg)
    }

    fn emit(&mut self, i: Instr) -> usize {
        let line = self.line;
        let f = self.f();
        f.code.push(i);
        f.lines.push(line);
        f.code.len() - 1
    }

    fn pc(&mut self) -> usize {
        self.f().code.len()
    }

    fn emit_jmp(&mut self) -> usize {
        self.emit(Instr::Jmp(0))
    }

    fn patch_to(&mut self, jmp: usize, target: usize) {
        let off = target as i64 - (jmp as i64 + 1);
        let f = self.f();
        match &mut f.code[jmp] {
            Instr::Jmp(o) | Instr::ForPrep(_, o) | Instr::ForLoop(_, o) | Instr::TForLoop(_, o) => {
                *o = off as i32
            }
            _ => unreachable!("patching non-jump"),
        }
    }

    fn patch_here(&mut self, jmps: Vec<usize>) {
        let here = self.pc();
        for j in jmps {
            self.patch_to(j, here);
        }
    }

    fn alloc_reg(&mut self) -> CResult<u8> {
        let f = self.fs.last_mut().unwrap();
        if f.freereg >= MAX_REGS {
            return Err(self.err("function or expression needs too many registers"));
        }
        let r = f.freereg;
        f.freereg += 1;
        if f.freereg > f.max_stack {
            f.max_stack = f.freereg;
        }
        Ok(r as u8)
    }

    fn alloc_regs(&mut self, n: usize) -> CResult<u8> {
        let base = self.f().freereg;
        for _ in 0..n {
            self.alloc_reg()?;
        }
        Ok(base as u8)
    }

    fn nactive_reg(&self) -> usize {
        let f = self.fs.last().unwrap();
        f.actives.last().map(|l| l.reg as usize + 1).unwrap_or(0)
    }

    fn add_const(&mut self, v: Value, key: ConstKey) -> u32 {
        let f = self.fs.last_mut().unwrap();
        if let Some(&i) = f.const_map.get(&key) {
            return i;
        }
        let i = f.consts.len() as u32;
        f.consts.push(v);
        f.const_map.insert(key, i);
        i
    }

    fn str_const(&mut self, s: &[u8]) -> u32 {
        let v = Value::Str(self.heap.intern(s));
        self.add_const(v, ConstKey::Str(s.to_vec()))
    }

    /// Constant index as an RK operand, if it fits.
    fn rk_k(k: u32) -> Option<u16> {
        if k < 0x7fff {
            Some(k as u16 | RK_CONST)
        } else {
            None
        }
    }

    // ------------------------------------------------------------------
    // functions and blocks

    fn function(&mut self, body: &FuncBody, is_main: bool) -> CResult<Rc<Proto>> {
        let mut fs = FuncState {
            code: vec![],
            lines: vec![],
            consts: vec![],
            const_map: HashMap::new(),
            protos: vec![],
            upvals: vec![],
            actives: vec![],
            blocks: vec![],
            labels: vec![],
            gotos: vec![],
            debug_locals: vec![],
            freereg: 0,
            max_stack: 2,
            is_vararg: body.is_vararg,
            num_params: body.params.len() as u8,
        };
        if is_main {
            fs.upvals.push((b"_ENV".to_vec(), true, 0));
        }
        self.fs.push(fs);
        if body.params.len() > 200 {
            return Err(self.err("too many local variables (limit is 200) in function"));
        }
        self.line = body.line;
        self.open_block(false);
        for p in &body.params {
            let r = self.alloc_reg()?;
            self.add_local(p.clone(), r);
        }
        self.block_body(&body.body)?;
        self.line = body.end_line;
        self.close_block()?;
        self.emit(Instr::Return(0, 1));
        if let Some(g) = self.fs.last().unwrap().gotos.first() {
            self.line = g.line;
            let msg = format!(
                "no visible label '{}' for <goto> at line {}",
                String::from_utf8_lossy(&g.name),
                g.line
            );
            return Err(self.err(&msg));
        }
        let fs = self.fs.pop().unwrap();
        Ok(Rc::new(Proto {
            id: NEXT_PROTO_ID.fetch_add(1, Ordering::Relaxed),
            code: super::bytecode::Code::new(fs.code),
            lines: fs.lines,
            consts: fs.consts,
            protos: fs.protos,
            upvals: fs.upvals.iter().map(|u| (u.1, u.2)).collect(),
            upval_names: fs.upvals.into_iter().map(|u| u.0).collect(),
            num_params: fs.num_params,
            is_vararg: fs.is_vararg,
            max_stack: fs.max_stack.min(255) as u8,
            locals: fs.debug_locals,
            chunk: self.chunk.clone(),
            line: body.line,
            name: body.name.clone(),
        }))
    }

    fn add_local(&mut self, name: Vec<u8>, reg: u8) {
        let pc = self.pc() as u32;
        let f = self.f();
        f.debug_locals.push((name.clone(), reg, pc, u32::MAX));
        let debug_idx = f.debug_locals.len() - 1;
        f.actives.push(LocalVar {
            name,
            reg,
            debug_idx,
            is_const: false,
        });
    }

    fn open_block(&mut self, is_loop: bool) {
        let nactive = self.fs.last().unwrap().actives.len();
        let f = self.f();
        let first_label = f.labels.len();
        let first_goto = f.gotos.len();
        f.blocks.push(BlockScope {
            nactive,
            is_loop,
            breaks: vec![],
            has_upval: false,
            first_label,
            first_goto,
        });
    }

    /// Ends a block: deactivates its locals, resolves its breaks (to the
    /// current pc) and moves unresolved gotos outwards.
    fn close_block(&mut self) -> CResult<()> {
        {
            // leaving the scope of captured locals: close their upvalues
            let f = self.fs.last().unwrap();
            let b = f.blocks.last().unwrap();
            if b.has_upval && f.blocks.len() > 1 && f.actives.len() > b.nactive {
                let reg = f.actives[b.nactive].reg;
                self.emit(Instr::Close(reg));
            }
        }
        let pc = self.pc() as u32;
        let f = self.fs.last_mut().unwrap();
        let b = f.blocks.pop().unwrap();
        while f.actives.len() > b.nactive {
            let l = f.actives.pop().unwrap();
            f.debug_locals[l.debug_idx].3 = pc;
        }
        f.freereg = f.actives.last().map(|l| l.reg as usize + 1).unwrap_or(0);
        f.labels.truncate(b.first_label);
        let level = f.freereg;
        for g in f.gotos[b.first_goto..].iter_mut() {
            if g.nactive > b.nactive {
                g.nactive = b.nactive;
            }
            let _ = level;
        }
        if let Some(parent) = f.blocks.last_mut() {
            if b.has_upval {
                // gotos leaving this block need to close; conservatively mark
                parent.has_upval |= false;
            }
        }
        let breaks = b.breaks;
        self.patch_here(breaks);
        Ok(())
    }

    fn block_body(&mut self, b: &Block) -> CResult<()> {
        for (i, s) in b.stats.iter().enumerate() {
            // a label followed only by void statements counts as block end
            let at_end = b.ret.is_none()
                && b.stats[i + 1..]
                    .iter()
                    .all(|s| matches!(s.kind, StatKind::Label(_)));
            self.stat(s, at_end)?;
            let f = self.f();
            f.freereg = f.actives.last().map(|l| l.reg as usize + 1).unwrap_or(0);
        }
        if let Some((exprs, line)) = &b.ret {
            self.line = *line;
            self.ret(exprs)?;
        }
        Ok(())
    }

    fn block(&mut self, b: &Block) -> CResult<()> {
        self.open_block(false);
        self.block_body(b)?;
        self.close_block()
    }

    // ------------------------------------------------------------------
    // variables

    fn resolve(&mut self, level: usize, name: &[u8]) -> Var {
        let f = &self.fs[level];
        for l in f.actives.iter().rev() {
            if l.name == name {
                return Var::Local(l.reg);
            }
        }
        for (i, u) in f.upvals.iter().enumerate() {
            if u.0 == name {
                return Var::Upval(i as u8);
            }
        }
        if level == 0 {
            return Var::Global;
        }
        match self.resolve(level - 1, name) {
            Var::Local(r) => {
                // mark the block holding that local as captured
                let pf = &mut self.fs[level - 1];
                let idx = pf.actives.iter().rposition(|l| l.reg == r).unwrap();
                let nact = idx;
                for b in pf.blocks.iter_mut().rev() {
                    if b.nactive <= nact {
                        b.has_upval = true;
                        break;
                    }
                }
                let f = &mut self.fs[level];
                f.upvals.push((name.to_vec(), true, r));
                Var::Upval((f.upvals.len() - 1) as u8)
            }
            Var::Upval(i) => {
                let f = &mut self.fs[level];
                f.upvals.push((name.to_vec(), false, i));
                Var::Upval((f.upvals.len() - 1) as u8)
            }
            Var::Global => Var::Global,
        }
    }

    fn resolve_name(&mut self, name: &[u8]) -> CResult<Var> {
        let level = self.fs.len() - 1;
        let v = self.resolve(level, name);
        if let Var::Upval(_) = v {
            if self.fs.last().unwrap().upvals.len() > 255 {
                return Err(self.err("too many upvalues (limit is 255)"));
            }
        }
        Ok(v)
    }

    // ------------------------------------------------------------------
    // expressions

    /// `r` is the topmost temporary (not a local): safe to build into.
    fn is_top(&self, r: u8) -> bool {
        r as usize + 1 == self.fs.last().unwrap().freereg && r as usize >= self.nactive_reg()
    }

    fn const_of(&mut self, e: &Expr) -> Option<u32> {
        Some(match &e.kind {
            ExprKind::Nil => self.add_const(Value::Nil, ConstKey::Nil),
            ExprKind::True => self.add_const(Value::Bool(true), ConstKey::Bool(true)),
            ExprKind::False => self.add_const(Value::Bool(false), ConstKey::Bool(false)),
            ExprKind::Int(i) => self.add_const(Value::Int(*i), ConstKey::Int(*i)),
            ExprKind::Num(n) => self.add_const(Value::Num(*n), ConstKey::Num(n.to_bits())),
            ExprKind::Str(s) => self.str_const(s),
            _ => return None,
        })
    }

    fn expr_rk(&mut self, e: &Expr) -> CResult<u16> {
        if let Some(k) = self.const_of(e) {
            if let Some(rk) = Self::rk_k(k) {
                return Ok(rk);
            }
        }
        Ok(self.expr_anyreg(e)? as u16)
    }

    fn expr_anyreg(&mut self, e: &Expr) -> CResult<u8> {
        if let ExprKind::Name(n) = &e.kind {
            if let Var::Local(r) = self.resolve_name(n)? {
                return Ok(r);
            }
        }
        let r = self.alloc_reg()?;
        self.expr_to_reg(e, r)?;
        Ok(r)
    }

    fn expr_to_new_reg(&mut self, e: &Expr) -> CResult<u8> {
        let r = self.alloc_reg()?;
        self.expr_to_reg(e, r)?;
        Ok(r)
    }

    /// Evaluates `e` into register `dest` (exactly one value).
    fn expr_to_reg(&mut self, e: &Expr, dest: u8) -> CResult<()> {
        let save_line = self.line;
        self.line = e.line;
        let save = self.f().freereg;
        match &e.kind {
            ExprKind::Nil => {
                self.emit(Instr::LoadNil(dest, 0));
            }
            ExprKind::True => {
                self.emit(Instr::LoadBool(dest, true));
            }
            ExprKind::False => {
                self.emit(Instr::LoadBool(dest, false));
            }
            ExprKind::Int(i) => {
                if *i >= i32::MIN as i64 && *i <= i32::MAX as i64 {
                    self.emit(Instr::LoadI(dest, *i as i32));
                } else {
                    let k = self.add_const(Value::Int(*i), ConstKey::Int(*i));
                    self.emit(Instr::LoadK(dest, k));
                }
            }
            ExprKind::Num(_) | ExprKind::Str(_) => {
                let k = self.const_of(e).unwrap();
                self.emit(Instr::LoadK(dest, k));
            }
            ExprKind::Vararg => {
                self.emit(Instr::VarArg(dest, 2));
            }
            ExprKind::Func(b) => {
                let p = self.function(b, false)?;
                self.line = e.line;
                let f = self.f();
                f.protos.push(p);
                let idx = f.protos.len() as u32 - 1;
                self.emit(Instr::Closure(dest, idx));
            }
            ExprKind::Name(n) => match self.resolve_name(n)? {
                Var::Local(r) => {
                    if r != dest {
                        self.emit(Instr::Move(dest, r));
                    }
                }
                Var::Upval(u) => {
                    self.emit(Instr::GetUpval(dest, u));
                }
                Var::Global => {
                    let k = self.str_const(n);
                    self.get_global(dest, k)?;
                }
            },
            ExprKind::Index(obj, key) => {
                let o = self.expr_anyreg(obj)?;
                self.line = e.line;
                if let ExprKind::Str(s) = &key.kind {
                    let k = self.str_const(s);
                    if k <= u16::MAX as u32 {
                        self.emit(Instr::GetField(dest, o, k as u16));
                        self.f().freereg = save;
                        self.line = save_line;
                        return Ok(());
                    }
                }
                let k = self.expr_rk(key)?;
                self.line = e.line;
                self.emit(Instr::GetTable(dest, o, k));
            }
            ExprKind::Call(..) | ExprKind::Method(..) => {
                if self.is_top(dest) {
                    self.f().freereg = dest as usize;
                    self.call(e, 1)?;
                } else {
                    let base = self.call(e, 1)?;
                    self.emit(Instr::Move(dest, base));
                }
            }
            ExprKind::Paren(inner) => {
                self.expr_to_reg(inner, dest)?;
            }
            ExprKind::Table(fields) => {
                if self.is_top(dest) {
                    self.table(fields, dest)?;
                } else {
                    let t = self.alloc_reg()?;
                    self.table(fields, t)?;
                    self.emit(Instr::Move(dest, t));
                }
            }
            ExprKind::Un(op, a) => {
                let r = self.expr_anyreg(a)?;
                self.line = e.line;
                self.emit(match op {
                    UnOp::Neg => Instr::Unm(dest, r),
                    UnOp::Not => Instr::Not(dest, r),
                    UnOp::Len => Instr::Len(dest, r),
                    UnOp::BNot => Instr::BNot(dest, r),
                });
            }
            ExprKind::Bin(op, a, b) => self.binop(*op, a, b, dest, e.line)?,
        }
        self.f().freereg = save.max(self.f().freereg.min(save));
        self.f().freereg = save;
        self.line = save_line;
        Ok(())
    }

    fn get_global(&mut self, dest: u8, k: u32) -> CResult<()> {
        match self.resolve_name(b"_ENV")? {
            Var::Upval(u) if k <= u16::MAX as u32 => {
                self.emit(Instr::GetTabUp(dest, u, k as u16));
            }
            Var::Local(r) if k <= u16::MAX as u32 => {
                self.emit(Instr::GetField(dest, r, k as u16));
            }
            v => {
                let env = match v {
                    Var::Local(r) => r,
                    Var::Upval(u) => {
                        let t = self.alloc_reg()?;
                        self.emit(Instr::GetUpval(t, u));
                        t
                    }
                    Var::Global => unreachable!(),
                };
                let kr = self.alloc_reg()?;
                self.emit(Instr::LoadK(kr, k));
                self.emit(Instr::GetTable(dest, env, kr as u16));
            }
        }
        Ok(())
    }

    fn set_global(&mut self, k: u32, val: u16) -> CResult<()> {
        match self.resolve_name(b"_ENV")? {
            Var::Upval(u) if k <= 0x7fff => {
                self.emit(Instr::SetTabUp(u, k as u16, val));
            }
            Var::Local(r) if k <= 0x7fff => {
                self.emit(Instr::SetField(r, k as u16, val));
            }
            v => {
                let env = match v {
                    Var::Local(r) => r,
                    Var::Upval(u) => {
                        let t = self.alloc_reg()?;
                        self.emit(Instr::GetUpval(t, u));
                        t
                    }
                    Var::Global => unreachable!(),
                };
                let kr = self.alloc_reg()?;
                self.emit(Instr::LoadK(kr, k));
                self.emit(Instr::SetTable(env, kr as u16, val));
            }
        }
        Ok(())
    }

    fn binop(&mut self, op: BinOp, a: &Expr, b: &Expr, dest: u8, line: u32) -> CResult<()> {
        match op {
            BinOp::And | BinOp::Or => {
                let target = if dest as usize >= self.nactive_reg() {
                    dest
                } else {
                    self.alloc_reg()?
                };
                self.expr_to_reg(a, target)?;
                self.line = line;
                self.emit(Instr::Test(target, op == BinOp::Or));
                let j = self.emit_jmp();
                self.expr_to_reg(b, target)?;
                self.patch_here(vec![j]);
                if target != dest {
                    self.emit(Instr::Move(dest, target));
                }
            }
            BinOp::Concat => {
                // flatten a .. (b .. (c .. d)) into consecutive registers
                let mut items = vec![a];
                let mut cur = b;
                while let ExprKind::Bin(BinOp::Concat, x, y) = &cur.kind {
                    items.push(x);
                    cur = y;
                }
                items.push(cur);
                if items.len() > 200 {
                    return Err(self.err("too many operands in concatenation"));
                }
                let base = self.f().freereg as u8;
                for it in &items {
                    self.expr_to_new_reg(it)?;
                }
                self.line = line;
                self.emit(Instr::Concat(dest, base, items.len() as u8));
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let jumps = self.cond_jump_bin(op, a, b, true, line)?;
                self.emit(Instr::LFalseSkip(dest));
                self.patch_here(jumps);
                self.emit(Instr::LoadBool(dest, true));
            }
            _ => {
                // a non-trivial left operand is built in `dest` itself when
                // `dest` is a temporary: left-nested chains (`a + b + c ...`)
                // then need O(1) registers, like luac.
                let simple = self.const_of(a).is_some() || matches!(a.kind, ExprKind::Name(_));
                let x = if !simple && dest as usize >= self.nactive_reg() {
                    self.expr_to_reg(a, dest)?;
                    dest as u16
                } else {
                    self.expr_rk(a)?
                };
                let y = self.expr_rk(b)?;
                self.line = line;
                self.emit(match op {
                    BinOp::Add => Instr::Add(dest, x, y),
                    BinOp::Sub => Instr::Sub(dest, x, y),
                    BinOp::Mul => Instr::Mul(dest, x, y),
                    BinOp::Div => Instr::Div(dest, x, y),
                    BinOp::IDiv => Instr::IDiv(dest, x, y),
                    BinOp::Mod => Instr::Mod(dest, x, y),
                    BinOp::Pow => Instr::Pow(dest, x, y),
                    BinOp::BAnd => Instr::BAnd(dest, x, y),
                    BinOp::BOr => Instr::BOr(dest, x, y),
                    BinOp::BXor => Instr::BXor(dest, x, y),
                    BinOp::Shl => Instr::Shl(dest, x, y),
                    BinOp::Shr => Instr::Shr(dest, x, y),
                    _ => unreachable!(),
                });
            }
        }
        Ok(())
    }

    /// Emits a comparison + jump taken when `(a op b) == when`.
    fn cond_jump_bin(
        &mut self,
        op: BinOp,
        a: &Expr,
        b: &Expr,
        when: bool,
        line: u32,
    ) -> CResult<Vec<usize>> {
        let save = self.f().freereg;
        let x = self.expr_rk(a)?;
        let y = self.expr_rk(b)?;
        self.line = line;
        // Cmp(k, b, c): if (b op c) != k then skip the following jump
        let i = match op {
            BinOp::Eq => Instr::Eq(when, x, y),
            BinOp::Ne => Instr::Eq(!when, x, y),
            BinOp::Lt => Instr::Lt(when, x, y),
            BinOp::Le => Instr::Le(when, x, y),
            BinOp::Gt => Instr::Lt(when, y, x),
            BinOp::Ge => Instr::Le(when, y, x),
            _ => unreachable!(),
        };
        self.emit(i);
        let j = self.emit_jmp();
        self.f().freereg = save;
        Ok(vec![j])
    }

    /// Emits code that jumps (returned patch list) when truthiness of `e`
    /// equals `when`, and falls through otherwise.
    fn cond_jump(&mut self, e: &Expr, when: bool) -> CResult<Vec<usize>> {
        self.line = e.line;
        match &e.kind {
            ExprKind::Bin(
                op @ (BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge),
                a,
                b,
            ) => self.cond_jump_bin(*op, a, b, when, e.line),
            ExprKind::Bin(BinOp::And, a, b) => {
                if when {
                    // jump if a and b: if not a, fall through (skip)
                    let skip = self.cond_jump(a, false)?;
                    let j = self.cond_jump(b, true)?;
                    self.patch_here(skip);
                    Ok(j)
                } else {
                    let mut j = self.cond_jump(a, false)?;
                    j.extend(self.cond_jump(b, false)?);
                    Ok(j)
                }
            }
            ExprKind::Bin(BinOp::Or, a, b) => {
                if when {
                    let mut j = self.cond_jump(a, true)?;
                    j.extend(self.cond_jump(b, true)?);
                    Ok(j)
                } else {
                    let skip = self.cond_jump(a, true)?;
                    let j = self.cond_jump(b, false)?;
                    self.patch_here(skip);
                    Ok(j)
                }
            }
            ExprKind::Un(UnOp::Not, a) => self.cond_jump(a, !when),
            ExprKind::True | ExprKind::Int(_) | ExprKind::Num(_) | ExprKind::Str(_) => {
                if when {
                    Ok(vec![self.emit_jmp()])
                } else {
                    Ok(vec![])
                }
            }
            ExprKind::Nil | ExprKind::False => {
                if !when {
                    Ok(vec![self.emit_jmp()])
                } else {
                    Ok(vec![])
                }
            }
            _ => {
                let save = self.f().freereg;
                let r = self.expr_anyreg(e)?;
                self.line = e.line;
                self.emit(Instr::Test(r, when));
                let j = self.emit_jmp();
                self.f().freereg = save;
                Ok(vec![j])
            }
        }
    }

    /// Compiles a call at a fresh base register; returns the base.
    /// `nres` = number of results wanted (-1 = all, sets top).
    fn call(&mut self, e: &Expr, nres: i32) -> CResult<u8> {
        let base;
        let mut nargs_fixed = 0usize;
        let args = match &e.kind {
            ExprKind::Call(func, args) => {
                base = self.expr_to_new_reg(func)?;
                args
            }
            ExprKind::Method(obj, name, args) => {
                let o = self.expr_anyreg(obj)?;
                // base must be at the top: if obj was a temp at the top, reuse it
                base = if o as usize + 1 == self.f().freereg && o as usize >= self.nactive_reg() {
                    o
                } else {
                    self.alloc_reg()?
                };
                self.alloc_reg()?; // self slot
                let k = self.str_const(name);
                self.line = e.line;
                if k <= u16::MAX as u32 {
                    self.emit(Instr::SelfOp(base, o, k as u16));
                } else {
                    return Err(self.err("too many constants"));
                }
                nargs_fixed = 1;
                args
            }
            _ => unreachable!(),
        };
        let mut b = 0u8;
        let mut multi = false;
        for (i, a) in args.iter().enumerate() {
            if i == args.len() - 1 && is_multi(a) {
                self.multi(a, -1)?;
                multi = true;
            } else {
                self.expr_to_new_reg(a)?;
            }
        }
        if !multi {
            let n = args.len() + nargs_fixed + 1;
            if n > 255 {
                return Err(self.err("function or expression needs too many registers"));
            }
            b = n as u8;
        }
        self.line = e.line;
        self.emit(Instr::Call(base, b, (nres + 1) as u8));
        let f = self.f();
        f.freereg = base as usize + nres.max(0) as usize;
        if f.freereg > f.max_stack {
            f.max_stack = f.freereg;
        }
        Ok(base)
    }

    /// Compiles a multi-value expression (call or `...`) into the next free
    /// registers with `nres` results (-1 = all).
    fn multi(&mut self, e: &Expr, nres: i32) -> CResult<u8> {
        match &e.kind {
            ExprKind::Vararg => {
                let base = self.f().freereg as u8;
                self.line = e.line;
                self.emit(Instr::VarArg(base, (nres + 1) as u8));
                if nres > 0 {
                    self.alloc_regs(nres as usize)?;
                }
                Ok(base)
            }
            _ => self.call(e, nres),
        }
    }

    fn table(&mut self, fields: &[TField], t: u8) -> CResult<()> {
        let npos = fields
            .iter()
            .filter(|f| matches!(f, TField::Pos(_)))
            .count();
        let nhash = fields.len() - npos;
        let pc = self.emit(Instr::NewTable(
            t,
            npos.min(u16::MAX as usize) as u16,
            nhash.min(u16::MAX as usize) as u16,
        ));
        let _ = pc;
        let mut pending = 0u32;
        let mut done = 0u32;
        for (i, f) in fields.iter().enumerate() {
            match f {
                TField::Pos(e) => {
                    if i == fields.len() - 1 && is_multi(e) {
                        self.multi(e, -1)?;
                        self.emit(Instr::SetList(t, 0, done));
                        done += pending;
                        pending = 0;
                        self.f().freereg = t as usize + 1;
                        continue;
                    }
                    self.expr_to_new_reg(e)?;
                    pending += 1;
                    if pending == 50 {
                        self.emit(Instr::SetList(t, pending as u8, done));
                        done += pending;
                        pending = 0;
                        self.f().freereg = t as usize + 1;
                    }
                }
                TField::Named(k, v) => {
                    let save = self.f().freereg;
                    if let ExprKind::Str(s) = &k.kind {
                        let kk = self.str_const(s);
                        if kk <= 0x7fff {
                            let vv = self.expr_rk(v)?;
                            self.line = k.line;
                            self.emit(Instr::SetField(t, kk as u16, vv));
                            self.f().freereg = save;
                            continue;
                        }
                    }
                    let kk = self.expr_rk(k)?;
                    let vv = self.expr_rk(v)?;
                    self.line = k.line;
                    self.emit(Instr::SetTable(t, kk, vv));
                    self.f().freereg = save;
                }
            }
        }
        if pending > 0 {
            self.emit(Instr::SetList(t, pending as u8, done));
        }
        self.f().freereg = t as usize + 1;
        Ok(())
    }

    /// Evaluates `exprs` into `n` consecutive new registers (Lua's
    /// adjustment: the last multi-value expression fills the rest, extra
    /// values are evaluated and dropped, missing ones are nil).
    fn explist_to_regs(&mut self, exprs: &[Expr], n: usize) -> CResult<u8> {
        let base = self.f().freereg as u8;
        for (i, e) in exprs.iter().enumerate() {
            let last = i == exprs.len() - 1;
            if last && is_multi(e) && i < n {
                let want = n - i;
                self.multi(e, want as i32)?;
                self.f().freereg = base as usize + n;
                return Ok(base);
            }
            if i < n {
                self.expr_to_new_reg(e)?;
            } else {
                // evaluate for side effects, then drop
                let save = self.f().freereg;
                if is_multi(e) {
                    self.multi(e, 0)?;
                } else {
                    self.expr_to_new_reg(e)?;
                }
                self.f().freereg = save;
            }
        }
        if exprs.len() < n {
            let first = base as usize + exprs.len();
            let missing = n - exprs.len();
            self.alloc_regs(missing)?;
            self.emit(Instr::LoadNil(first as u8, (missing - 1) as u8));
        }
        self.f().freereg = base as usize + n;
        Ok(base)
    }

    // ------------------------------------------------------------------
    // statements

    fn stat(&mut self, s: &Stat, at_block_end: bool) -> CResult<()> {
        self.line = s.line;
        match &s.kind {
            StatKind::Expr(e) => {
                self.call(e, 0)?;
            }
            StatKind::Local(names, exprs) => {
                let base = self.explist_to_regs(exprs, names.len())?;
                for (i, (n, attr)) in names.iter().enumerate() {
                    if self.f().actives.len() >= 200 {
                        return Err(self.err("too many local variables (limit is 200) in function"));
                    }
                    self.add_local(n.clone(), base + i as u8);
                    if matches!(attr, Attrib::Const | Attrib::Close) {
                        self.f().actives.last_mut().unwrap().is_const = true;
                    }
                    if matches!(attr, Attrib::Close) {
                        // closing happens through `Close` at block exit
                        self.f().blocks.last_mut().unwrap().has_upval = true;
                        self.emit(Instr::Tbc(base + i as u8));
                    }
                }
            }
            StatKind::LocalFunction(name, body) => {
                let r = self.alloc_reg()?;
                self.add_local(name.clone(), r);
                let p = self.function(body, false)?;
                self.line = s.line;
                let f = self.f();
                f.protos.push(p);
                let idx = f.protos.len() as u32 - 1;
                self.emit(Instr::Closure(r, idx));
                // the debug range starts after the closure is created
            }
            StatKind::Function(target, body) => {
                let fe = Expr {
                    line: s.line,
                    kind: ExprKind::Nil,
                };
                let _ = fe;
                let p = self.function(body, false)?;
                self.line = s.line;
                let f = self.f();
                f.protos.push(p);
                let idx = f.protos.len() as u32 - 1;
                let r = self.alloc_reg()?;
                self.emit(Instr::Closure(r, idx));
                self.store_to(target, r as u16)?;
            }
            StatKind::Assign(targets, exprs) => self.assign(targets, exprs)?,
            StatKind::Do(b) => self.block(b)?,
            StatKind::While(cond, body) => {
                let start = self.pc();
                let exits = self.cond_jump(cond, false)?;
                self.open_block(true);
                self.block_body(body)?;
                let has_up = self.f().blocks.last().unwrap().has_upval;
                if has_up {
                    let lvl = self.f().blocks.last().unwrap().nactive;
                    let reg = self.reg_of_level(lvl);
                    self.emit(Instr::Close(reg));
                }
                self.line = s.line;
                let j = self.emit_jmp();
                self.patch_to(j, start);
                self.close_block()?;
                self.patch_here(exits);
            }
            StatKind::Repeat(body, cond) => {
                let start = self.pc();
                self.open_block(true);
                self.block_body(body)?;
                let has_up = self.f().blocks.last().unwrap().has_upval;
                let lvl = self.f().blocks.last().unwrap().nactive;
                let reg = self.reg_of_level(lvl);
                if has_up {
                    let exits = self.cond_jump(cond, true)?;
                    self.emit(Instr::Close(reg));
                    let j = self.emit_jmp();
                    self.patch_to(j, start);
                    self.patch_here(exits);
                    self.emit(Instr::Close(reg));
                } else {
                    let back = self.cond_jump(cond, false)?;
                    for j in back {
                        self.patch_to(j, start);
                    }
                }
                self.close_block()?;
            }
            StatKind::If(arms, els) => {
                let mut to_end = vec![];
                for (i, (cond, body)) in arms.iter().enumerate() {
                    let skip = self.cond_jump(cond, false)?;
                    self.block(body)?;
                    if i < arms.len() - 1 || els.is_some() {
                        to_end.push(self.emit_jmp());
                    }
                    self.patch_here(skip);
                }
                if let Some(b) = els {
                    self.block(b)?;
                }
                self.patch_here(to_end);
            }
            StatKind::NumFor(var, start, limit, step, body) => {
                self.open_block(true);
                let base = self.f().freereg as u8;
                self.expr_to_new_reg(start)?;
                self.expr_to_new_reg(limit)?;
                match step {
                    Some(st) => {
                        self.expr_to_new_reg(st)?;
                    }
                    None => {
                        let r = self.alloc_reg()?;
                        self.emit(Instr::LoadI(r, 1));
                    }
                }
                self.line = s.line;
                let prep = self.emit(Instr::ForPrep(base, 0));
                // hidden control variables keep their registers
                self.add_local(b"(for state)".to_vec(), base);
                self.add_local(b"(for state)".to_vec(), base + 1);
                self.add_local(b"(for state)".to_vec(), base + 2);
                let v = self.alloc_reg()?;
                self.add_local(var.clone(), v);
                let body_start = self.pc();
                self.open_block(false);
                self.block_body(body)?;
                let inner_up = self.f().blocks.last().unwrap().has_upval;
                self.close_block()?;
                let outer_up = self.f().blocks.last().unwrap().has_upval;
                if inner_up || outer_up {
                    self.emit(Instr::Close(v));
                }
                self.line = s.line;
                let lp = self.emit(Instr::ForLoop(base, 0));
                self.patch_to(lp, body_start);
                self.patch_to(prep, lp + 1);
                self.close_block()?;
            }
            StatKind::GenFor(names, exprs, body) => {
                self.open_block(true);
                let base = self.explist_to_regs(exprs, 4)?;
                self.add_local(b"(for state)".to_vec(), base);
                self.add_local(b"(for state)".to_vec(), base + 1);
                self.add_local(b"(for state)".to_vec(), base + 2);
                self.add_local(b"(for state)".to_vec(), base + 3);
                self.emit(Instr::Tbc(base + 3));
                self.f().blocks.last_mut().unwrap().has_upval = true;
                let nv = names.len();
                let vbase = self.alloc_regs(nv)?;
                for (i, n) in names.iter().enumerate() {
                    self.add_local(n.clone(), vbase + i as u8);
                }
                self.line = s.line;
                let j = self.emit_jmp();
                let body_start = self.pc();
                self.open_block(false);
                self.block_body(body)?;
                let inner_up = self.f().blocks.last().unwrap().has_upval;
                self.close_block()?;
                let outer_up = self.f().blocks.last().unwrap().has_upval;
                if inner_up || outer_up {
                    self.emit(Instr::Close(vbase));
                }
                self.patch_here(vec![j]);
                self.line = s.line;
                self.emit(Instr::TForCall(base, nv as u8));
                let lp = self.emit(Instr::TForLoop(base, 0));
                self.patch_to(lp, body_start);
                self.close_block()?;
            }
            StatKind::Return => unreachable!(),
            StatKind::Break => {
                let f = self.fs.last().unwrap();
                let idx = f.blocks.iter().rposition(|b| b.is_loop);
                match idx {
                    None => return Err(self.err(&format!("break outside loop at line {}", s.line))),
                    Some(i) => {
                        let lvl = f.blocks[i].nactive;
                        if f.actives.len() > lvl {
                            let reg = self.reg_of_level(lvl);
                            self.emit(Instr::Close(reg));
                        }
                        let j = self.emit_jmp();
                        self.f().blocks[i].breaks.push(j);
                    }
                }
            }
            StatKind::Goto(name) => {
                // backward jump to a visible label?
                let nact = self.f().actives.len();
                let found = self
                    .f()
                    .labels
                    .iter()
                    .rev()
                    .find(|l| &l.name == name)
                    .map(|l| (l.pc, l.nactive));
                if let Some((pc, lnact)) = found {
                    if nact > lnact {
                        let reg = self.reg_of_level(lnact);
                        self.emit(Instr::Close(reg));
                    }
                    let j = self.emit_jmp();
                    self.patch_to(j, pc);
                } else {
                    let close_pc = self.emit(Instr::Close(255));
                    let jmp_pc = self.emit_jmp();
                    self.f().gotos.push(PendingGoto {
                        name: name.clone(),
                        close_pc,
                        jmp_pc,
                        line: s.line,
                        nactive: nact,
                    });
                }
            }
            StatKind::Label(name) => {
                let f = self.fs.last().unwrap();
                let blk_first = f.blocks.last().map(|b| b.first_label).unwrap_or(0);
                for l in &f.labels[..] {
                    if &l.name == name {
                        let _ = blk_first;
                        let line = f.lines.get(l.pc).copied().unwrap_or(s.line);
                        return Err(self.err(&format!(
                            "label '{}' already defined on line {}",
                            String::from_utf8_lossy(name),
                            line.max(1)
                        )));
                    }
                }
                let mut nactive = f.actives.len();
                if at_block_end {
                    nactive = f.blocks.last().map(|b| b.nactive).unwrap_or(0);
                }
                let pc = self.pc();
                self.f().labels.push(Label {
                    name: name.clone(),
                    pc,
                    nactive,
                });
                // resolve pending forward gotos of this block (and nested ones)
                let first_goto = self.f().blocks.last().map(|b| b.first_goto).unwrap_or(0);
                let mut i = first_goto;
                while i < self.f().gotos.len() {
                    if &self.f().gotos[i].name == name {
                        let g = self.f().gotos.remove(i);
                        if g.nactive < nactive {
                            let vname = self.f().actives[g.nactive].name.clone();
                            self.line = g.line;
                            return Err(self.err(&format!(
                                "<goto {}> at line {} jumps into the scope of local '{}'",
                                String::from_utf8_lossy(name),
                                g.line,
                                String::from_utf8_lossy(&vname)
                            )));
                        }
                        let reg = self.reg_of_level(nactive);
                        self.f().code[g.close_pc] = Instr::Close(reg);
                        self.patch_to(g.jmp_pc, pc);
                    } else {
                        i += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Register where the `level`-th active local lives (or the first free
    /// register above all locals if `level` is the count of actives).
    fn reg_of_level(&self, level: usize) -> u8 {
        let f = self.fs.last().unwrap();
        if level < f.actives.len() {
            f.actives[level].reg
        } else {
            f.actives.last().map(|l| l.reg + 1).unwrap_or(0)
        }
    }

    fn ret(&mut self, exprs: &[Expr]) -> CResult<()> {
        if exprs.len() == 1 {
            let e = &exprs[0];
            match &e.kind {
                ExprKind::Call(..) | ExprKind::Method(..) => {
                    let base = self.call(e, -1)?;
                    // turn the call into a tail call
                    let last = self.f().code.len() - 1;
                    if let Instr::Call(a, b, _) = self.f().code[last] {
                        self.f().code[last] = Instr::TailCall(a, b);
                    }
                    self.emit(Instr::Return(base, 0));
                    return Ok(());
                }
                ExprKind::Name(n) => {
                    if let Var::Local(r) = self.resolve_name(n)? {
                        self.emit(Instr::Return(r, 2));
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        let base = self.f().freereg as u8;
        let mut multi = false;
        for (i, e) in exprs.iter().enumerate() {
            if i == exprs.len() - 1 && is_multi(e) {
                self.multi(e, -1)?;
                multi = true;
            } else {
                self.expr_to_new_reg(e)?;
            }
        }
        self.emit(Instr::Return(
            base,
            if multi { 0 } else { exprs.len() as u8 + 1 },
        ));
        Ok(())
    }

    /// Stores register/constant `val` into an assignable expression.
    fn store_to(&mut self, target: &Expr, val: u16) -> CResult<()> {
        self.line = target.line;
        match &target.kind {
            ExprKind::Name(n) => match self.resolve_name(n)? {
                Var::Local(r) => {
                    if val & RK_CONST != 0 {
                        self.emit(Instr::LoadK(r, (val & !RK_CONST) as u32));
                    } else if val as u8 != r {
                        self.emit(Instr::Move(r, val as u8));
                    }
                }
                Var::Upval(u) => {
                    let r = self.rk_to_reg(val)?;
                    self.emit(Instr::SetUpval(r, u));
                }
                Var::Global => {
                    let k = self.str_const(n);
                    self.set_global(k, val)?;
                }
            },
            ExprKind::Index(obj, key) => {
                let o = self.expr_anyreg(obj)?;
                let k = self.key_rk(key)?;
                self.line = target.line;
                self.emit_settable(o, k, val);
            }
            _ => unreachable!(),
        }
        Ok(())
    }

    fn rk_to_reg(&mut self, v: u16) -> CResult<u8> {
        if v & RK_CONST != 0 {
            let r = self.alloc_reg()?;
            self.emit(Instr::LoadK(r, (v & !RK_CONST) as u32));
            Ok(r)
        } else {
            Ok(v as u8)
        }
    }

    /// Key operand; string constants are marked with a flag bit in the
    /// returned tuple so `SetField` can be used.
    fn key_rk(&mut self, key: &Expr) -> CResult<(bool, u16)> {
        if let ExprKind::Str(s) = &key.kind {
            let k = self.str_const(s);
            if k <= 0x7fff {
                return Ok((true, k as u16));
            }
        }
        Ok((false, self.expr_rk(key)?))
    }

    fn emit_settable(&mut self, o: u8, k: (bool, u16), val: u16) {
        if k.0 {
            self.emit(Instr::SetField(o, k.1, val));
        } else {
            self.emit(Instr::SetTable(o, k.1, val));
        }
    }

    fn check_not_const(&mut self, target: &Expr) -> CResult<()> {
        if let ExprKind::Name(n) = &target.kind {
            // search locals of all enclosing functions for a const binding
            for f in self.fs.iter().rev() {
                if let Some(l) = f.actives.iter().rev().find(|l| &l.name == n) {
                    if l.is_const {
                        self.line = target.line;
                        return Err(self.err(&format!(
                            "attempt to assign to const variable '{}'",
                            String::from_utf8_lossy(n)
                        )));
                    }
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn assign(&mut self, targets: &[Expr], exprs: &[Expr]) -> CResult<()> {
        for t in targets {
            self.check_not_const(t)?;
        }
        if targets.len() == 1 && exprs.len() == 1 {
            let t = &targets[0];
            let e = &exprs[0];
            match &t.kind {
                ExprKind::Name(n) => match self.resolve_name(n)? {
                    Var::Local(r) => {
                        self.expr_to_reg(e, r)?;
                        return Ok(());
                    }
                    _ => {
                        let v = self.expr_rk(e)?;
                        return self.store_to(t, v);
                    }
                },
                ExprKind::Index(obj, key) => {
                    let o = self.expr_anyreg(obj)?;
                    let k = self.key_rk(key)?;
                    let v = self.expr_rk(e)?;
                    self.line = t.line;
                    self.emit_settable(o, k, v);
                    return Ok(());
                }
                _ => unreachable!(),
            }
        }
        // general case: evaluate prefixes, then values, then store right-to-left
        enum LV {
            Name,
            Index(u8, (bool, u16)),
        }
        let mut lvs = Vec::new();
        for t in targets {
            match &t.kind {
                ExprKind::Index(obj, key) => {
                    let o = self.expr_to_new_reg(obj)?;
                    let k = match &key.kind {
                        ExprKind::Str(_) => self.key_rk(key)?,
                        _ => {
                            if let Some(kc) = self.const_of(key).and_then(Self::rk_k) {
                                (false, kc)
                            } else {
                                (false, self.expr_to_new_reg(key)? as u16)
                            }
                        }
                    };
                    lvs.push(LV::Index(o, k));
                }
                _ => lvs.push(LV::Name),
            }
        }
        let base = self.explist_to_regs(exprs, targets.len())?;
        for (i, t) in targets.iter().enumerate().rev() {
            let v = (base + i as u8) as u16;
            match &lvs[i] {
                LV::Name => self.store_to(t, v)?,
                LV::Index(o, k) => {
                    self.line = t.line;
                    self.emit_settable(*o, *k, v);
                }
            }
        }
        Ok(())
    }
}
