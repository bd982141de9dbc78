//! Stage 4: the virtual machine.
//!
//! Registers of every active Lua function live in one contiguous
//! `stack: Vec<Value>`; a [`Frame`] records its closure, saved pc, base
//! index and where its results go. Lua-to-Lua calls and returns do not
//! recurse on the Rust stack: `Call` pushes a frame and the dispatch loop
//! (`execute`) continues in the callee. Only native functions that call back
//! into Lua (pcall, sort comparators, gsub callbacks, metamethods invoked
//! from the VM) re-enter `execute`; that nesting is bounded by
//! `MAX_C_CALLS` (lua5.4's "C stack overflow"), and the Lua stack by
//! `MAX_STACK` slots ("stack overflow"), both catchable Lua errors.
//!
//! For the JIT: instructions are addressed by (prototype, pc); prototypes
//! have a stable `id`; back-edges are `ForLoop`, `TForLoop` and backward
//! `Jmp` (see `Instr::is_backedge`) — the merge-point hook belongs right
//! where those instructions take their jump (marked `MERGE POINT`). Each
//! instruction's work is local to one `match` arm operating on
//! `(self, base, pc)`, so the step can be made generic over an execution
//! mode later.
//!
//! Errors are `LuaError` values propagated with `?`; positions and the
//! variable descriptions of lua5.4 (`(local 'x')`, `(global 'f')`, ...)
//! are reconstructed from the bytecode at the failing pc (`varinfo`).

use super::bytecode::{Instr, RK_CONST};
use super::heap::{Gc, Heap};
use super::value::*;
use super::value::{
    copy_value, int_at, num_at, set_int_payload, table_at, tag_at, write_int, write_num,
};
use std::rc::Rc;

pub const MAX_STACK: usize = 1_000_000;
/// Allocated stack slots: the Lua limit plus room for natives' results.
pub const STACK_SLOTS: usize = MAX_STACK + 1_100_000;

/// An all-`Nil` stack from zeroed memory (pages are mapped lazily, so
/// the 30 MB reservation costs nothing until used).
fn zeroed_stack(n: usize) -> Vec<Value> {
    let layout = std::alloc::Layout::array::<Value>(n).expect("stack layout");
    // SAFETY: `Value` is `#[repr(u8)]` with `Nil` as discriminant 0, so an
    // all-zero `Value` is a valid `Nil`; the pointer comes from the global
    // allocator with exactly this layout, as `Vec::from_raw_parts` requires.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout) as *mut Value;
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Vec::from_raw_parts(p, n, n)
    }
}
pub const MAX_C_CALLS: usize = 190;

pub type NativeFn = fn(&mut Vm, usize, usize) -> Result<R, LuaError>;

/// Results of a native function.
pub enum R {
    Zero,
    One(Value),
    Two(Value, Value),
    Many(Vec<Value>),
}

#[derive(Clone)]
pub struct LuaError {
    pub value: Value,
    pub traceback: Option<String>,
}

pub type LResult<T> = Result<T, LuaError>;

#[derive(Clone, Copy)]
pub struct Frame {
    pub cl: Gc<LClosure>,
    pub pc: usize,
    pub base: usize,
    pub func: usize,
    pub nres: i32,
    pub nvarargs: usize,
    /// Entered from Rust (`Vm::call`): returning from it leaves `execute`.
    pub entry: bool,
    /// Called by a native function (not by a Lua frame or a metamethod
    /// invoked by a Lua frame): `error(msg, 2)` then has no position.
    pub from_native: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tm {
    Index,
    NewIndex,
    Eq,
    Len,
    Call,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    IDiv,
    BAnd,
    BOr,
    BXor,
    Shl,
    Shr,
    Unm,
    BNot,
    Lt,
    Le,
    Concat,
    ToString,
    Name,
    Metatable,
    Close,
    Gc,
    Mode,
    Pairs,
}

const TM_NAMES: [&str; 29] = [
    "__index",
    "__newindex",
    "__eq",
    "__len",
    "__call",
    "__add",
    "__sub",
    "__mul",
    "__div",
    "__mod",
    "__pow",
    "__idiv",
    "__band",
    "__bor",
    "__bxor",
    "__shl",
    "__shr",
    "__unm",
    "__bnot",
    "__lt",
    "__le",
    "__concat",
    "__tostring",
    "__name",
    "__metatable",
    "__close",
    "__gc",
    "__mode",
    "__pairs",
];

pub struct Vm {
    pub stack: Vec<Value>,
    pub frames: Vec<Frame>,
    /// End of the values in use by the innermost native call or of the
    /// last multi-result instruction.
    pub top: usize,
    pub heap: Heap,
    pub globals: Gc<Table>,
    pub registry: Gc<Table>,
    pub string_meta: Option<Gc<Table>>,
    open_upvals: Vec<(usize, Gc<UpVal>)>,
    tm_names: Vec<Gc<LStr>>,
    pub c_calls: usize,
    pub pcall_depth: usize,
    /// Extra roots for natives holding values across calls into Lua.
    pub temp_roots: Vec<Value>,
    pub chunkname: String,
    pub script_name: String,
    /// The running native was called from Rust/another native (not from
    /// a Lua frame): its errors carry no position.
    pub c_caller: bool,
    /// The native function currently running (for error messages).
    pub current_native: Option<Gc<NClosure>>,
    /// A native function is running (innermost activation).
    pub in_native: bool,
    /// The tracing JIT (None: interpret only); see `super::jit`.
    pub jit: Option<Box<super::jit::LuaJit>>,
    /// Stack slots holding to-be-closed values (ascending).
    pub tbc: Vec<usize>,
    /// High-water mark: no stack slot at or above this index has been
    /// written since the last collection (every write above a frame's
    /// registers goes through `push_frame` or `ensure_stack`, which raise
    /// it), so `collect` clears dead slots only up to here instead of
    /// the whole 2M-slot stack.
    stack_hwm: usize,
}

fn fmt_ptr(kind: &str, addr: usize) -> String {
    format!("{}: 0x{:x}", kind, addr)
}

impl Vm {
    pub fn new() -> Vm {
        super::heap::install_no_memory_hook();
        let mut heap = Heap::new();
        let globals = heap.alloc_table(Table::new(0, 64));
        let registry = heap.alloc_table(Table::new(0, 8));
        let tm_names = TM_NAMES.iter().map(|n| heap.intern(n.as_bytes())).collect();
        Vm {
            stack: zeroed_stack(STACK_SLOTS),
            frames: Vec::new(),
            top: 0,
            heap,
            globals,
            registry,
            string_meta: None,
            open_upvals: Vec::new(),
            tm_names,
            c_calls: 0,
            pcall_depth: 0,
            temp_roots: Vec::new(),
            chunkname: String::new(),
            script_name: String::new(),
            c_caller: false,
            current_native: None,
            in_native: false,
            jit: None,
            tbc: Vec::new(),
            stack_hwm: 0,
        }
    }

    // ------------------------------------------------------------------
    // helpers for natives and the library

    pub fn str(&mut self, s: &[u8]) -> Value {
        Value::Str(self.heap.intern(s))
    }

    pub fn new_table(&mut self, narr: usize, nhash: usize) -> Gc<Table> {
        self.heap.alloc_table(Table::new(narr, nhash))
    }

    pub fn table_set(&mut self, t: Gc<Table>, k: Value, v: Value) {
        let g = t.get_mut().set(k, v);
        if g > 0 {
            self.heap.note_growth(g);
        }
    }

    pub fn native(&mut self, name: &'static str, f: NativeFn) -> Value {
        Value::NFn(self.heap.alloc_nclosure(NClosure {
            f,
            name,
            upvals: vec![],
        }))
    }

    /// The stack is allocated once (never reallocated, so the dispatch
    /// loop may index it without bounds checks); this only checks room.
    pub fn ensure_stack(&mut self, n: usize) -> LResult<()> {
        if n > self.stack.len() {
            return Err(self.rt_error("stack overflow"));
        }
        self.stack_hwm = self.stack_hwm.max(n);
        Ok(())
    }

    pub fn tm_name(&self, tm: Tm) -> Gc<LStr> {
        self.tm_names[tm as usize]
    }

    pub fn get_metatable(&self, v: Value) -> Option<Gc<Table>> {
        match v {
            Value::Table(t) => t.get().meta,
            Value::Str(_) => self.string_meta,
            _ => None,
        }
    }

    /// Metamethod `tm` of `v` (nil if none). Uses the absence cache for
    /// the frequent ones.
    #[inline]
    pub fn metamethod(&self, v: Value, tm: Tm) -> Value {
        match self.get_metatable(v) {
            None => Value::Nil,
            Some(mt) => self.tm_of(mt, tm),
        }
    }

    #[inline]
    pub fn tm_of(&self, mt: Gc<Table>, tm: Tm) -> Value {
        let bit = match tm {
            Tm::Index => MM_INDEX,
            Tm::NewIndex => MM_NEWINDEX,
            Tm::Eq => MM_EQ,
            Tm::Len => MM_LEN,
            Tm::Call => MM_CALL,
            _ => 0,
        };
        let t = mt.get();
        if bit != 0 && t.flags.get() & bit != 0 {
            return Value::Nil;
        }
        let v = t.get_str(self.tm_name(tm));
        if v.is_nil() && bit != 0 {
            t.flags.set(t.flags.get() | bit);
        }
        v
    }

    // ------------------------------------------------------------------
    // errors

    /// `chunk:line:` of the Lua function at `level` (1 = innermost).
    pub fn where_(&self, level: usize) -> String {
        if level == 0 || self.frames.is_empty() {
            return String::new();
        }
        let mut idx = self.frames.len();
        for _ in 1..level {
            if idx == 0 {
                return String::new();
            }
            if self.frames[idx - 1].from_native {
                // the caller is a native function: no position
                return String::new();
            }
            idx -= 1;
        }
        if idx == 0 {
            return String::new();
        }
        let f = &self.frames[idx - 1];
        let p = &f.cl.get().proto;
        let pc = f.pc.saturating_sub(1);
        format!("{}: ", p.location(pc))
    }

    pub fn rt_error(&mut self, msg: &str) -> LuaError {
        let w = if self.c_caller {
            String::new()
        } else {
            self.where_(1)
        };
        let s = format!("{}{}", w, msg);
        LuaError {
            value: self.str(s.as_bytes()),
            traceback: None,
        }
    }

    /// Lua's memory error: no position, as lua5.4's preallocated message.
    pub fn no_memory_error(&mut self) -> LuaError {
        LuaError {
            value: self.str(b"not enough memory"),
            traceback: None,
        }
    }

    pub fn error_value(&self, v: Value) -> LuaError {
        LuaError {
            value: v,
            traceback: None,
        }
    }

    /// Description of RK operand `rk` at the current pc of the innermost
    /// frame, like lua5.4's `varinfo` (" (local 'x')" or "").
    pub fn varinfo(&self, rk: Option<u16>) -> String {
        let rk = match rk {
            Some(r) => r,
            None => return String::new(),
        };
        let f = match self.frames.last() {
            Some(f) => f,
            None => return String::new(),
        };
        let p = &f.cl.get().proto;
        let pc = f.pc.saturating_sub(1);
        if rk & RK_CONST != 0 {
            if let Some(Value::Str(s)) = p.consts.get((rk & 0x7fff) as usize) {
                return format!(" (constant '{}')", String::from_utf8_lossy(&s.get().bytes));
            }
            return String::new();
        }
        match describe_reg(p, pc, rk as u8) {
            Some(d) => format!(" ({})", d),
            None => String::new(),
        }
    }

    /// True if the innermost Lua frame is executing a method call
    /// (`obj:m(...)`), for lua5.4's argument renumbering in natives.
    pub fn in_method_call(&self) -> bool {
        let f = match self.frames.last() {
            Some(f) => f,
            None => return false,
        };
        let p = &f.cl.get().proto;
        let pc = f.pc.saturating_sub(1);
        if let Some(Instr::Call(a, _, _)) | Some(Instr::TailCall(a, _)) = p.code.get(pc) {
            for i in (0..pc).rev() {
                match p.code.get(i) {
                    Some(Instr::SelfOp(x, _, _)) if x == a => return true,
                    Some(ins) => {
                        if target_reg(&ins) == Some(a) {
                            return false;
                        }
                    }
                    None => return false,
                }
            }
        }
        false
    }

    /// `lib.name` of the running native if it is a library function
    /// (lua5.4's pushglobalfuncname), else `fname`.
    pub fn qualified_name(&self, fname: &str) -> String {
        let me = match self.current_native {
            Some(f) => f,
            None => return fname.to_string(),
        };
        for lib in ["string", "table", "math", "os", "io"] {
            let mut found = false;
            for (k, v) in self.globals.get().hash_entries() {
                if let (Value::Str(ks), Value::Table(t)) = (k, v) {
                    if &ks.get().bytes[..] == lib.as_bytes() {
                        for (_, fv) in t.get().hash_entries() {
                            if let Value::NFn(g) = fv {
                                if Gc::ptr_eq(g, me) {
                                    found = true;
                                }
                            }
                        }
                    }
                }
            }
            if found {
                return format!("{}.{}", lib, fname);
            }
        }
        fname.to_string()
    }

    pub fn type_error(&mut self, v: Value, op: &str, rk: Option<u16>) -> LuaError {
        let tn = self.type_name_mt(v);
        let vi = self.varinfo(rk);
        self.rt_error(&format!("attempt to {} a {} value{}", op, tn, vi))
    }

    /// Type name honoring `__name` (as lua5.4's luaT_objtypename).
    pub fn type_name_mt(&self, v: Value) -> String {
        if let Value::Table(t) = v {
            if let Some(mt) = t.get().meta {
                if let Value::Str(s) = mt.get().get_str(self.tm_name(Tm::Name)) {
                    return String::from_utf8_lossy(&s.get().bytes).into_owned();
                }
            }
        }
        v.type_name().to_string()
    }

    pub fn traceback(&self) -> String {
        let mut s = String::from("stack traceback:");
        let n = self.frames.len();
        for (i, f) in self.frames.iter().enumerate().rev() {
            if n > 22 && i < n - 10 && i >= 11 {
                if i == n - 11 {
                    s.push_str(&format!("\n\t...\t(skipping {} levels)", n - 21));
                }
                continue;
            }
            let p = &f.cl.get().proto;
            let pc = f.pc.saturating_sub(1);
            if p.line == 0 {
                s.push_str(&format!("\n\t{}: in main chunk", p.location(pc)));
            } else if p.name.is_empty() {
                s.push_str(&format!(
                    "\n\t{}: in function <{}:{}>",
                    p.location(pc),
                    p.chunk,
                    p.line
                ));
            } else {
                s.push_str(&format!("\n\t{}: in function '{}'", p.location(pc), p.name));
            }
            if f.entry && i > 0 {
                s.push_str("\n\t[C]: in ?");
            }
        }
        s.push_str("\n\t[C]: in ?");
        s
    }

    // ------------------------------------------------------------------
    // conversions

    pub fn tostring_basic(&mut self, v: Value) -> Vec<u8> {
        match v {
            Value::Nil => b"nil".to_vec(),
            Value::Bool(b) => {
                if b {
                    b"true".to_vec()
                } else {
                    b"false".to_vec()
                }
            }
            Value::Int(i) => i.to_string().into_bytes(),
            Value::Num(f) => fmt_float(f).into_bytes(),
            Value::Str(s) => s.get().bytes.to_vec(),
            Value::Table(t) => {
                let kind = self.type_name_mt(v);
                fmt_ptr(&kind, t.addr()).into_bytes()
            }
            Value::LFn(f) => fmt_ptr("function", f.addr()).into_bytes(),
            Value::NFn(f) => format!("function: builtin: 0x{:x}", f.addr()).into_bytes(),
        }
    }

    /// `tostring` with `__tostring`/`__name`.
    pub fn tostring(&mut self, v: Value) -> LResult<Value> {
        if let Value::Str(_) = v {
            return Ok(v);
        }
        let h = self.metamethod(v, Tm::ToString);
        if !h.is_nil() {
            let r = self.call_value(h, &[v], 1)?;
            let r = r.first().copied().unwrap_or(Value::Nil);
            return match r {
                Value::Str(_) => Ok(r),
                Value::Int(_) | Value::Num(_) => {
                    let b = self.tostring_basic(r);
                    Ok(self.str(&b))
                }
                _ => Err(self.rt_error("'__tostring' must return a string")),
            };
        }
        let b = self.tostring_basic(v);
        Ok(self.str(&b))
    }

    pub fn tonumber(v: Value) -> Option<Value> {
        match v {
            Value::Int(_) | Value::Num(_) => Some(v),
            Value::Str(s) => super::numparse::str_to_number(&s.get().bytes),
            _ => None,
        }
    }

    /// Integer conversion for bitwise ops / library args (floats with exact
    /// integer value, strings convertible to such).
    pub fn toint(v: Value) -> Option<i64> {
        match v {
            Value::Int(i) => Some(i),
            Value::Num(f) => float_to_int_exact(f),
            Value::Str(_) => Vm::tonumber(v).and_then(Vm::toint),
            _ => None,
        }
    }

    // ------------------------------------------------------------------
    // calls

    /// Calls `f` with `args` from Rust; returns its results (`nres` = -1:
    /// all). Re-enters the dispatch loop for Lua functions.
    pub fn call_value(&mut self, f: Value, args: &[Value], nres: i32) -> LResult<Vec<Value>> {
        let slot = self.free_top();
        self.ensure_stack(slot + args.len() + 2)?;
        self.stack[slot] = f;
        for (i, a) in args.iter().enumerate() {
            self.stack[slot + 1 + i] = *a;
        }
        let n = self.call(slot, args.len(), nres)?;
        Ok(self.stack[slot..slot + n].to_vec())
    }

    /// First free stack slot above everything in use.
    pub fn free_top(&self) -> usize {
        let lua_top = match self.frames.last() {
            Some(f) => f.base + f.cl.get().proto.max_stack as usize,
            None => 0,
        };
        lua_top.max(self.top)
    }

    /// Calls the value at `stack[func]` with the `nargs` values above it.
    /// Results are left at `stack[func..func+n]`; returns n.
    pub fn call(&mut self, func: usize, nargs: usize, nres: i32) -> LResult<usize> {
        if self.c_calls >= MAX_C_CALLS {
            return Err(self.rt_error("C stack overflow"));
        }
        self.c_calls += 1;
        let depth = self.frames.len();
        // An allocation failure unwinds with `heap::NoMemory` (see there) to
        // here, where it becomes an ordinary Lua error; the unwinding leaves
        // the failed object unchanged and the frames above `depth` are
        // dropped below exactly as for an error returned by `call_inner`.
        let r = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.call_inner(func, nargs, nres)
        })) {
            Ok(r) => r,
            Err(p) if p.is::<super::heap::NoMemory>() => Err(self.no_memory_error()),
            Err(p) => std::panic::resume_unwind(p),
        };
        self.c_calls -= 1;
        match r {
            Ok(n) => Ok(n),
            Err(mut e) => {
                if self.pcall_depth == 0 && e.traceback.is_none() {
                    e.traceback = Some(self.traceback());
                }
                self.close_upvals(func);
                self.frames.truncate(depth);
                if let Some(&t) = self.tbc.last() {
                    if t >= func {
                        let tb = e.traceback.take();
                        self.top = self.top.max(self.free_top());
                        if let Err(ne) = self.close_tbc(func, Some(e.value)) {
                            e = ne;
                        }
                        if e.traceback.is_none() {
                            e.traceback = tb;
                        }
                    }
                }
                Err(e)
            }
        }
    }

    fn call_inner(&mut self, func: usize, nargs: usize, nres: i32) -> LResult<usize> {
        let mut nargs = nargs;
        for _ in 0..100 {
            match self.stack[func] {
                Value::LFn(cl) => {
                    self.push_frame(cl, func, nargs, nres, true)?;
                    let saved = std::mem::replace(&mut self.c_caller, false);
                    let saved_in = std::mem::replace(&mut self.in_native, false);
                    let r = self.execute();
                    self.in_native = saved_in;
                    self.c_caller = saved;
                    r?;
                    let n = if nres >= 0 {
                        nres as usize
                    } else {
                        self.top - func
                    };
                    return Ok(n);
                }
                Value::NFn(nf) => {
                    let saved = std::mem::replace(&mut self.c_caller, true);
                    let r = self.call_native(nf, func, nargs, nres);
                    self.c_caller = saved;
                    return r;
                }
                v => {
                    nargs = self.insert_call_tm(v, func, nargs, None)?;
                }
            }
        }
        Err(self.rt_error("'__call' chain too long; possibly a loop"))
    }

    /// Replaces a non-function at `func` by its `__call` handler, shifting
    /// the arguments up (the object becomes the first argument).
    fn insert_call_tm(
        &mut self,
        v: Value,
        func: usize,
        nargs: usize,
        rk: Option<u16>,
    ) -> LResult<usize> {
        let h = self.metamethod(v, Tm::Call);
        if h.is_nil() {
            if self.in_native {
                let tn = self.type_name_mt(v);
                let m = self.str(format!("attempt to call a {} value", tn).as_bytes());
                return Err(self.error_value(m));
            }
            return Err(self.type_error(v, "call", rk));
        }
        self.ensure_stack(func + nargs + 3)?;
        for i in (func..func + 1 + nargs).rev() {
            self.stack[i + 1] = self.stack[i];
        }
        self.stack[func] = h;
        Ok(nargs + 1)
    }

    fn call_native(
        &mut self,
        nf: Gc<NClosure>,
        func: usize,
        nargs: usize,
        nres: i32,
    ) -> LResult<usize> {
        self.top = func + 1 + nargs;
        let f = nf.get().f;
        let saved = self.current_native.replace(nf);
        let saved_in = std::mem::replace(&mut self.in_native, true);
        let r = f(self, func + 1, nargs);
        self.in_native = saved_in;
        self.current_native = saved;
        let r = r?;
        let n = match r {
            R::Zero => 0,
            R::One(v) => {
                self.stack[func] = v;
                1
            }
            R::Two(a, b) => {
                self.ensure_stack(func + 3)?;
                self.stack[func] = a;
                self.stack[func + 1] = b;
                2
            }
            R::Many(vs) => {
                self.ensure_stack(func + vs.len() + 1)?;
                self.stack[func..func + vs.len()].copy_from_slice(&vs);
                vs.len()
            }
        };
        if nres < 0 {
            self.top = func + n;
            Ok(n)
        } else {
            let want = nres as usize;
            if n < want {
                self.ensure_stack(func + want + 1)?;
                for v in &mut self.stack[func + n..func + want] {
                    *v = Value::Nil;
                }
            }
            Ok(want)
        }
    }

    #[inline(always)]
    fn push_frame(
        &mut self,
        cl: Gc<LClosure>,
        func: usize,
        nargs: usize,
        nres: i32,
        entry: bool,
    ) -> LResult<()> {
        let p = &cl.get().proto;
        let np = p.num_params as usize;
        let need = func + 1 + nargs.max(np) + p.max_stack as usize + 2;
        if need > MAX_STACK {
            return Err(self.rt_error("stack overflow"));
        }
        // (MAX_STACK < STACK_SLOTS: the stack itself has room)
        if need > self.stack_hwm {
            self.stack_hwm = need;
        }
        let mut nargs = nargs;
        if nargs < np {
            for v in &mut self.stack[func + 1 + nargs..func + 1 + np] {
                *v = Value::Nil;
            }
            nargs = np;
        }
        let (base, nvar) = if p.is_vararg && nargs > np {
            let base = func + 1 + nargs;
            let need = base + p.max_stack as usize + 2;
            if need > MAX_STACK {
                return Err(self.rt_error("stack overflow"));
            }
            self.ensure_stack(need)?;
            for i in 0..np {
                self.stack[base + i] = self.stack[func + 1 + i];
            }
            (base, nargs - np)
        } else {
            (func + 1, 0)
        };
        self.frames.push(Frame {
            cl,
            pc: 0,
            base,
            func,
            nres,
            nvarargs: nvar,
            entry,
            from_native: entry && self.in_native,
        });
        Ok(())
    }

    /// Pushes the frame of a call that compiled code (or a recording) had
    /// inlined and left inside: `cl` called by the running Lua frame with
    /// its registers at `base` (already written), wanting `nres` results.
    /// The JIT inlines only calls of non-variadic functions whose frames
    /// fit below `MAX_STACK` (checked as `push_frame` does).
    pub(crate) fn push_inlined_frame(&mut self, cl: Gc<LClosure>, base: usize, nres: i32) {
        let need = base + cl.get().proto.max_stack as usize + 2;
        if need > self.stack_hwm {
            self.stack_hwm = need;
        }
        self.frames.push(Frame {
            cl,
            pc: 0,
            base,
            func: base - 1,
            nres,
            nvarargs: 0,
            entry: false,
            from_native: false,
        });
    }

    /// Calls `__close` of the to-be-closed values at stack slots >= `level`
    /// (innermost first) with the error value (or nil).
    pub fn close_tbc(&mut self, level: usize, err: Option<Value>) -> LResult<()> {
        let mut err = err;
        let mut result = Ok(());
        while let Some(&idx) = self.tbc.last() {
            if idx < level {
                break;
            }
            self.tbc.pop();
            let v = self.stack[idx];
            let h = self.metamethod(v, Tm::Close);
            if h.is_nil() {
                continue;
            }
            let e = err.unwrap_or(Value::Nil);
            self.temp_roots.push(e);
            let r = self.call_value(h, &[v, e], 0);
            self.temp_roots.pop();
            if let Err(ne) = r {
                err = Some(ne.value);
                result = Err(ne);
            }
        }
        result
    }

    pub fn close_upvals(&mut self, level: usize) {
        while let Some(&(idx, uv)) = self.open_upvals.last() {
            if idx < level {
                break;
            }
            *uv.get_mut() = UpVal::Closed(self.stack[idx]);
            self.open_upvals.pop();
        }
    }

    fn find_upval(&mut self, idx: usize) -> Gc<UpVal> {
        // open_upvals is sorted by stack index
        let mut pos = self.open_upvals.len();
        while pos > 0 {
            let (i, u) = self.open_upvals[pos - 1];
            if i == idx {
                return u;
            }
            if i < idx {
                break;
            }
            pos -= 1;
        }
        let u = self.heap.alloc_upval(UpVal::Open(idx));
        self.open_upvals.insert(pos, (idx, u));
        u
    }

    // ------------------------------------------------------------------
    // garbage collection

    /// Runs a collection if allocation debt is high. Only called at safe
    /// points: every live value is in `stack[..live_top]`, the globals, the
    /// registry, frames, open upvalues or `temp_roots`.
    #[inline]
    pub fn gc_check(&mut self, live_top: usize) {
        if self.heap.should_collect() {
            self.collect(live_top);
        }
    }

    pub fn collect(&mut self, live_top: usize) {
        let live_top = live_top.max(self.top).min(self.stack.len());
        let hwm = self.stack_hwm.clamp(live_top, self.stack.len());
        for v in &mut self.stack[live_top..hwm] {
            *v = Value::Nil;
        }
        self.stack_hwm = live_top;
        let stack = &self.stack[..live_top];
        let frames = &self.frames;
        let open = &self.open_upvals;
        let globals = self.globals;
        let registry = self.registry;
        let smeta = self.string_meta;
        let tm = &self.tm_names;
        let temps = &self.temp_roots;
        self.heap.collect(|h| {
            for v in stack {
                h.mark_value(*v);
            }
            for f in frames {
                h.mark_value(Value::LFn(f.cl));
            }
            for (_, u) in open {
                h.mark_upval(*u);
            }
            h.mark_table(globals);
            h.mark_table(registry);
            if let Some(m) = smeta {
                h.mark_table(m);
            }
            for s in tm {
                h.mark_value(Value::Str(*s));
            }
            for v in temps {
                h.mark_value(*v);
            }
        });
    }

    // ------------------------------------------------------------------
    // slow paths of operators

    pub fn index(&mut self, obj: Value, key: Value, rk: Option<u16>) -> LResult<Value> {
        let mut o = obj;
        for i in 0..2000 {
            let h = match o {
                Value::Table(t) => {
                    let v = t.get().get(key);
                    if !v.is_nil() {
                        return Ok(v);
                    }
                    match t.get().meta {
                        None => return Ok(Value::Nil),
                        Some(mt) => {
                            let h = self.tm_of(mt, Tm::Index);
                            if h.is_nil() {
                                return Ok(Value::Nil);
                            }
                            h
                        }
                    }
                }
                _ => {
                    let h = self.metamethod(o, Tm::Index);
                    if h.is_nil() {
                        if i == 0 {
                            return Err(self.index_error(o, key, rk));
                        }
                        return Err(self.type_error(o, "index", None));
                    }
                    h
                }
            };
            match h {
                Value::LFn(_) | Value::NFn(_) => {
                    let r = self.call_value(h, &[o, key], 1)?;
                    return Ok(r[0]);
                }
                _ => o = h,
            }
        }
        Err(self.rt_error("'__index' chain too long; possible loop"))
    }

    fn index_error(&mut self, o: Value, key: Value, rk: Option<u16>) -> LuaError {
        let vi = self.varinfo(rk);
        let tn = self.type_name_mt(o);
        let _ = key;
        self.rt_error(&format!("attempt to index a {} value{}", tn, vi))
    }

    pub fn set_index(
        &mut self,
        obj: Value,
        key: Value,
        val: Value,
        rk: Option<u16>,
    ) -> LResult<()> {
        let mut o = obj;
        for i in 0..2000 {
            let h = match o {
                Value::Table(t) => {
                    let tb = t.get();
                    let h = match tb.meta {
                        None => Value::Nil,
                        Some(mt) => {
                            if tb.get(key).is_nil() {
                                self.tm_of(mt, Tm::NewIndex)
                            } else {
                                Value::Nil
                            }
                        }
                    };
                    if h.is_nil() {
                        return self.raw_set(t, key, val);
                    }
                    h
                }
                _ => {
                    let h = self.metamethod(o, Tm::NewIndex);
                    if h.is_nil() {
                        if i == 0 {
                            return Err(self.index_error(o, key, rk));
                        }
                        return Err(self.type_error(o, "index", None));
                    }
                    h
                }
            };
            match h {
                Value::LFn(_) | Value::NFn(_) => {
                    self.call_value(h, &[o, key, val], 0)?;
                    return Ok(());
                }
                _ => o = h,
            }
        }
        Err(self.rt_error("'__newindex' chain too long; possible loop"))
    }

    pub fn raw_set(&mut self, t: Gc<Table>, key: Value, val: Value) -> LResult<()> {
        match key {
            Value::Nil => return Err(self.rt_error("table index is nil")),
            Value::Num(f) if f.is_nan() => return Err(self.rt_error("table index is NaN")),
            _ => {}
        }
        self.table_set(t, key, val);
        Ok(())
    }

    pub fn arith(
        &mut self,
        op: Tm,
        a: Value,
        b: Value,
        rka: Option<u16>,
        rkb: Option<u16>,
    ) -> LResult<Value> {
        // numeric (with string coercion)
        let is_bit = matches!(
            op,
            Tm::BAnd | Tm::BOr | Tm::BXor | Tm::Shl | Tm::Shr | Tm::BNot
        );
        // strings coerce only for arithmetic (lua5.4: via the string metatable)
        let num = |v: Value| {
            if is_bit {
                match v {
                    Value::Int(_) | Value::Num(_) => Some(v),
                    _ => None,
                }
            } else {
                Vm::tonumber(v)
            }
        };
        let na = num(a);
        let nb = num(b);
        if let (Some(x), Some(y)) = (na, nb) {
            if matches!(
                op,
                Tm::BAnd | Tm::BOr | Tm::BXor | Tm::Shl | Tm::Shr | Tm::BNot
            ) {
                match (Vm::toint(x), Vm::toint(y)) {
                    (Some(i), Some(j)) => return Ok(Value::Int(bitop(op, i, j))),
                    (None, _) => return Err(self.int_rep_error(rka)),
                    _ => return Err(self.int_rep_error(rkb)),
                }
            }
            return arith_num(op, x, y).map_err(|m| self.rt_error(m));
        }
        let h = {
            let h = self.metamethod(a, op);
            if h.is_nil() {
                self.metamethod(b, op)
            } else {
                h
            }
        };
        if !h.is_nil() {
            let r = self.call_value(h, &[a, b], 1)?;
            return Ok(r[0]);
        }
        let is_bit = matches!(
            op,
            Tm::BAnd | Tm::BOr | Tm::BXor | Tm::Shl | Tm::Shr | Tm::BNot
        );
        // pick the culprit like lua5.4's luaG_opinterror
        let (bad, rk) = if na.is_some() { (b, rkb) } else { (a, rka) };
        if is_bit {
            if let (Some(_), Some(_)) = (na, nb) {
                return Err(self.rt_error("number has no integer representation"));
            }
            return Err(self.type_error(bad, "perform bitwise operation on", rk));
        }
        // lua5.4's string metamethods (lstrlib.c trymt) report failed coercions
        let strnum = |v: Value| matches!(v, Value::Str(_) | Value::Int(_) | Value::Num(_));
        if (matches!(a, Value::Str(_)) || matches!(b, Value::Str(_))) && strnum(a) && strnum(b) {
            let opname = &TM_NAMES[op as usize][2..];
            let (ta, tb) = (a.type_name(), b.type_name());
            return Err(self.rt_error(&format!("attempt to {} a '{}' with a '{}'", opname, ta, tb)));
        }
        Err(self.type_error(bad, "perform arithmetic on", rk))
    }

    /// lua5.4's luaG_tointerror: "number (local 'x') has no integer representation".
    fn int_rep_error(&mut self, rk: Option<u16>) -> LuaError {
        let vi = self.varinfo(rk);
        self.rt_error(&format!("number{} has no integer representation", vi))
    }

    pub fn equals(&mut self, a: Value, b: Value) -> LResult<bool> {
        if a.raw_eq(&b) {
            return Ok(true);
        }
        if let (Value::Table(x), Value::Table(y)) = (a, b) {
            let mut h = match x.get().meta {
                Some(m) => self.tm_of(m, Tm::Eq),
                None => Value::Nil,
            };
            if h.is_nil() {
                h = match y.get().meta {
                    Some(m) => self.tm_of(m, Tm::Eq),
                    None => Value::Nil,
                };
            }
            if !h.is_nil() {
                let r = self.call_value(h, &[a, b], 1)?;
                return Ok(r[0].truthy());
            }
        }
        Ok(false)
    }

    pub fn less_than(&mut self, a: Value, b: Value) -> LResult<bool> {
        match (a, b) {
            (Value::Int(x), Value::Int(y)) => Ok(x < y),
            (Value::Num(x), Value::Num(y)) => Ok(x < y),
            (Value::Int(x), Value::Num(y)) => Ok(int_lt_float(x, y)),
            (Value::Num(x), Value::Int(y)) => Ok(float_lt_int(x, y)),
            (Value::Str(x), Value::Str(y)) => Ok(x.get().bytes[..] < y.get().bytes[..]),
            _ => self.compare_tm(Tm::Lt, a, b),
        }
    }

    pub fn less_equal(&mut self, a: Value, b: Value) -> LResult<bool> {
        match (a, b) {
            (Value::Int(x), Value::Int(y)) => Ok(x <= y),
            (Value::Num(x), Value::Num(y)) => Ok(x <= y),
            (Value::Int(x), Value::Num(y)) => Ok(int_le_float(x, y)),
            (Value::Num(x), Value::Int(y)) => Ok(float_le_int(x, y)),
            (Value::Str(x), Value::Str(y)) => Ok(x.get().bytes[..] <= y.get().bytes[..]),
            _ => self.compare_tm(Tm::Le, a, b),
        }
    }

    fn compare_tm(&mut self, tm: Tm, a: Value, b: Value) -> LResult<bool> {
        let mut h = self.metamethod(a, tm);
        if h.is_nil() {
            h = self.metamethod(b, tm);
        }
        if !h.is_nil() {
            let r = self.call_value(h, &[a, b], 1)?;
            return Ok(r[0].truthy());
        }
        let t1 = self.type_name_mt(a);
        let t2 = self.type_name_mt(b);
        if t1 == t2 {
            Err(self.rt_error(&format!("attempt to compare two {} values", t1)))
        } else {
            Err(self.rt_error(&format!("attempt to compare {} with {}", t1, t2)))
        }
    }

    pub fn len(&mut self, v: Value, rk: Option<u16>) -> LResult<Value> {
        match v {
            Value::Str(s) => Ok(Value::Int(s.get().bytes.len() as i64)),
            Value::Table(t) => {
                if let Some(mt) = t.get().meta {
                    let h = self.tm_of(mt, Tm::Len);
                    if !h.is_nil() {
                        let r = self.call_value(h, &[v], 1)?;
                        return Ok(r[0]);
                    }
                }
                Ok(Value::Int(t.get().len()))
            }
            _ => {
                let h = self.metamethod(v, Tm::Len);
                if !h.is_nil() {
                    let r = self.call_value(h, &[v], 1)?;
                    return Ok(r[0]);
                }
                Err(self.type_error(v, "get length of", rk))
            }
        }
    }

    /// Concatenates `stack[first..first+n]` (right to left, like Lua).
    fn concat(&mut self, first: usize, n: usize) -> LResult<Value> {
        // fast path: all strings/numbers
        let all = self.stack[first..first + n]
            .iter()
            .all(|v| matches!(v, Value::Str(_) | Value::Int(_) | Value::Num(_)));
        if all {
            let mut buf = Vec::new();
            for i in 0..n {
                match self.stack[first + i] {
                    Value::Str(s) => buf.extend_from_slice(&s.get().bytes),
                    v => {
                        let b = self.tostring_basic(v);
                        buf.extend_from_slice(&b);
                    }
                }
            }
            return Ok(self.str(&buf));
        }
        // general: pairwise from the right with __concat
        let mut acc = self.stack[first + n - 1];
        for i in (0..n - 1).rev() {
            let a = self.stack[first + i];
            let sa = matches!(a, Value::Str(_) | Value::Int(_) | Value::Num(_));
            let sb = matches!(acc, Value::Str(_) | Value::Int(_) | Value::Num(_));
            if sa && sb {
                let mut buf = self.tostring_basic(a);
                let b = self.tostring_basic(acc);
                buf.extend_from_slice(&b);
                acc = self.str(&buf);
                continue;
            }
            let mut h = self.metamethod(a, Tm::Concat);
            if h.is_nil() {
                h = self.metamethod(acc, Tm::Concat);
            }
            if h.is_nil() {
                let (bad, reg) = if sa {
                    (acc, first + i + 1)
                } else {
                    (a, first + i)
                };
                let base = self.frames.last().map(|f| f.base).unwrap_or(0);
                let rk = if reg >= base && reg - base < 256 && !(sa && i + 1 != n - 1) {
                    Some((reg - base) as u16)
                } else {
                    None
                };
                return Err(self.type_error(bad, "concatenate", rk));
            }
            // keep acc rooted in its slot while calling
            self.stack[first + n - 1] = acc;
            let r = self.call_value(h, &[a, acc], 1)?;
            acc = r[0];
        }
        Ok(acc)
    }

    // ------------------------------------------------------------------
    // the dispatch loop

    /// Runs Lua frames until the entry frame (pushed by `call`) returns.
    pub fn execute(&mut self) -> LResult<()> {
        'newframe: loop {
            let fi = self.frames.len() - 1;
            let fr = self.frames[fi];
            let cl = fr.cl;
            // SAFETY: the closure (and so its prototype, held by an Rc inside
            // it) is kept alive by `self.frames[fi]`, a GC root, for as long
            // as this frame runs; the prototype is immutable. We detach the
            // lifetime from `self` so the loop can mutate the VM.
            let proto: &Proto = unsafe { &*Rc::as_ptr(&cl.get().proto) };
            // The code as dispatched: a raw pointer, never a reference, since
            // the JIT may patch a back-edge while this frame runs (see
            // `bytecode::Code`).
            let code_start: *const Instr = proto.code.dispatch_ptr();
            let k = &proto.consts[..];
            let base = fr.base;
            // The instruction pointer: `code[pc]` is `*ip` (a pointer rather
            // than an index saves reloading the code base at every dispatch).
            // SAFETY: `fr.pc <= code.len()` (a saved pc of this prototype).
            let mut ip: *const Instr = unsafe { code_start.add(fr.pc) };
            // The pc (index of the next instruction) for slow paths.
            macro_rules! pc {
                () => {
                    // SAFETY: `ip` points into (or one past) `code`.
                    unsafe { ip.offset_from(code_start) as usize }
                };
            }
            // Relative jump / skip of the next instruction.
            macro_rules! jump {
                ($off:expr) => {
                    // SAFETY: the compiler emits in-range jump targets.
                    ip = unsafe { ip.offset($off as isize) }
                };
            }
            // JIT hook (see `super::jit`): merge points at back-edges when a
            // JIT is installed (recording runs inside `jit::merge_point`).
            let jit_on = self.jit.is_some();
            // The merge point at a back-edge (after `jump!`): may run
            // compiled code or record, and continues at the pc it returns.
            macro_rules! merge_point {
                () => {{
                    let npc = super::jit::merge_point(self, proto, base, pc!());
                    // SAFETY: the merge point returns a pc of this prototype.
                    ip = unsafe { code_start.add(npc) };
                }};
            }
            // SAFETY (for `reg!`, `rk!` and the instruction fetch below):
            // `push_frame` checked `base + max_stack <= STACK_SLOTS` and the
            // stack never shrinks or reallocates (`Vm::new`); the compiler
            // only emits register operands below `max_stack`, constant
            // operands below `consts.len()`, and code whose every path ends
            // in a `Return` with in-range jump targets.
            // The stack buffer is never reallocated, so a pointer to this
            // frame's registers stays valid for the whole activation.
            let regs: *mut Value = unsafe { self.stack.as_mut_ptr().add(base) };
            macro_rules! reg {
                ($r:expr) => {
                    (*unsafe { &mut *regs.add($r as usize) })
                };
            }
            macro_rules! rk {
                ($x:expr) => {
                    if $x & RK_CONST != 0 {
                        // SAFETY: register/constant operand of this frame, in bounds (see the comment above `reg!`).
                        unsafe { *k.get_unchecked(($x & 0x7fff) as usize) }
                    } else {
                        // SAFETY: register/constant operand of this frame, in bounds (see the comment above `reg!`).
                        unsafe { *regs.add($x as usize) }
                    }
                };
            }
            // The numeric `for` back-edge (`ForLoop`; `IForLoop`, the form
            // the JIT patches in for a loop it gave up, without the merge
            // point: `$merge` is `false`).
            macro_rules! for_loop {
                ($a:expr, $off:expr, $merge:expr) => {{
                    let a = $a as usize;
                    // SAFETY: R[a..a+4] are this frame's registers (see `reg!`).
                    let pa = unsafe { regs.add(a) };
                    if unsafe { tag_at(pa.add(2)) } == TAG_INT {
                        // R[a+1] holds the remaining iteration count
                        let count = unsafe { int_at(pa.add(1)) };
                        if count > 0 {
                            let ni = unsafe { int_at(pa).wrapping_add(int_at(pa.add(2))) };
                            // R[a] and R[a+1] already hold integers
                            // (`for_prep`): only their payloads change.
                            unsafe {
                                set_int_payload(pa.add(1), count - 1);
                                set_int_payload(pa, ni);
                                write_int(pa.add(3), ni);
                            }
                            // MERGE POINT (loop back-edge)
                            jump!($off);
                            if $merge && jit_on {
                                merge_point!();
                            }
                        }
                    } else {
                        let (i, lim, step) =
                            // SAFETY: register/constant operand of this frame, in bounds (see the comment above `reg!`).
                            unsafe { (num_at(pa), num_at(pa.add(1)), num_at(pa.add(2))) };
                        let ni = i + step;
                        let cont = if step > 0.0 { ni <= lim } else { lim <= ni };
                        if cont {
                            // SAFETY: register/constant operand of this frame, in bounds (see the comment above `reg!`).
                            unsafe {
                                write_num(pa, ni);
                                write_num(pa.add(3), ni);
                            }
                            // MERGE POINT (loop back-edge)
                            jump!($off);
                            if $merge && jit_on {
                                merge_point!();
                            }
                        }
                    }
                }};
            }
            // The generic `for` back-edge (`TForLoop`; `ITForLoop` without
            // the merge point, as for `for_loop!`).
            macro_rules! tfor_loop {
                ($a:expr, $off:expr, $merge:expr) => {{
                    let ra = base + $a as usize;
                    let v = self.stack[ra + 4];
                    if !v.is_nil() {
                        self.stack[ra + 2] = v;
                        // MERGE POINT (loop back-edge)
                        jump!($off);
                        if $merge && jit_on {
                            merge_point!();
                        }
                    }
                }};
            }
            // The field fast path shared by `GetField` and `SelfOp`: the
            // table's own field, else one level of `__index = class table`.
            // A macro rather than a method: as a method it cost 2% more
            // instructions on richards (callgrind).
            // Follows `__index` chains of tables (class hierarchies) up to
            // a small depth. Yields `(value, resolved)`: `resolved` is false
            // when a function `__index` (or a too-long chain) needs the
            // slow path; a nil value with `resolved` is the final answer.
            macro_rules! field_lookup {
                ($tb:expr, $ks:expr) => {{
                    let mut v = $tb.get_str($ks);
                    let mut resolved = true;
                    if v.is_nil() {
                        let mut meta = $tb.meta;
                        let mut depth = 0;
                        while let Some(mt) = meta {
                            match self.tm_of(mt, Tm::Index) {
                                Value::Nil => break,
                                Value::Table(ct) if depth < 16 => {
                                    let cur = ct.get();
                                    meta = cur.meta;
                                    v = cur.get_str($ks);
                                    if !v.is_nil() {
                                        break;
                                    }
                                    depth += 1;
                                }
                                _ => {
                                    resolved = false;
                                    break;
                                }
                            }
                        }
                    }
                    (v, resolved)
                }};
            }
            macro_rules! savepc {
                () => {
                    self.frames[fi].pc = pc!()
                };
            }
            macro_rules! live_top {
                () => {
                    base + proto.max_stack as usize
                };
            }
            // Pointer to an RK operand (register or constant).
            macro_rules! rkp {
                ($x:expr) => {
                    if $x & RK_CONST != 0 {
                        // SAFETY: register/constant operand of this frame, in bounds (see the comment above `reg!`).
                        unsafe { k.as_ptr().add(($x & 0x7fff) as usize) }
                    } else {
                        // SAFETY: register/constant operand of this frame, in bounds (see the comment above `reg!`).
                        unsafe { regs.add($x as usize) as *const Value }
                    }
                };
            }
            // Pointers to two RK operands; both registers is the common
            // case and skips the constant/register selection.
            macro_rules! rkp2 {
                ($b:expr, $c:expr) => {
                    if ($b | $c) & RK_CONST == 0 {
                        // SAFETY: register operands of this frame, in bounds (see the comment above `reg!`).
                        unsafe {
                            (
                                regs.add($b as usize) as *const Value,
                                regs.add($c as usize) as *const Value,
                            )
                        }
                    } else {
                        (rkp!($b), rkp!($c))
                    }
                };
            }
            // Fast paths read tag and payload separately (no 16-byte copies
            // through the stack; see `value::tag_at`).
            macro_rules! arith {
                ($a:expr, $b:expr, $c:expr, $tm:expr, $int:expr, $flt:expr) => {{
                    let (pb, pc_) = rkp2!($b, $c);
                    // SAFETY: operands are valid `Value`s (see `reg!`).
                    let (tb, tc) = unsafe { (tag_at(pb), tag_at(pc_)) };
                    if tb == TAG_INT && tc == TAG_INT {
                        let (p, q) = unsafe { (int_at(pb), int_at(pc_)) };
                        match $int(p, q) {
                            Value::Int(r) => unsafe { write_int(regs.add($a as usize), r) },
                            Value::Num(r) => unsafe { write_num(regs.add($a as usize), r) },
                            other => reg!($a) = other,
                        }
                    } else if tb == TAG_NUM && tc == TAG_NUM {
                        let (p, q) = unsafe { (num_at(pb), num_at(pc_)) };
                        unsafe { write_num(regs.add($a as usize), $flt(p, q)) };
                    } else if tb == TAG_INT && tc == TAG_NUM {
                        // SAFETY: payloads read after the tag checks; `a`
                        // is a register of this frame (see `reg!`).
                        unsafe {
                            let (p, q) = (int_at(pb) as f64, num_at(pc_));
                            write_num(regs.add($a as usize), $flt(p, q))
                        };
                    } else if tb == TAG_NUM && tc == TAG_INT {
                        // SAFETY: payloads read after the tag checks; `a`
                        // is a register of this frame (see `reg!`).
                        unsafe {
                            let (p, q) = (num_at(pb), int_at(pc_) as f64);
                            write_num(regs.add($a as usize), $flt(p, q))
                        };
                    } else {
                        // SAFETY: register/constant operand of this frame, in bounds (see the comment above `reg!`).
                        let x = unsafe { *pb };
                        // SAFETY: register/constant operand of this frame, in bounds (see the comment above `reg!`).
                        let y = unsafe { *pc_ };
                        let r = match (x, y) {
                            (Value::Int(p), Value::Num(q)) => Value::Num($flt(p as f64, q)),
                            (Value::Num(p), Value::Int(q)) => Value::Num($flt(p, q as f64)),
                            _ => {
                                savepc!();
                                self.top = live_top!();
                                self.arith($tm, x, y, Some($b), Some($c))?
                            }
                        };
                        reg!($a) = r;
                    }
                }};
            }
            macro_rules! compare {
                ($kk:expr, $b:expr, $c:expr, $op:tt, $slow:ident) => {{
                    let (pb, pc_) = rkp2!($b, $c);
                    // SAFETY: operands are valid `Value`s (see `reg!`).
                    let (tb, tc) = unsafe { (tag_at(pb), tag_at(pc_)) };
                    let r = if tb == TAG_INT && tc == TAG_INT {
                        unsafe { int_at(pb) $op int_at(pc_) }
                    } else if tb == TAG_NUM && tc == TAG_NUM {
                        unsafe { num_at(pb) $op num_at(pc_) }
                    } else {
                        let x = unsafe { *pb };
                        let y = unsafe { *pc_ };
                        savepc!();
                        self.top = live_top!();
                        self.$slow(x, y)?
                    };
                    if r != $kk {
                        jump!(1);
                    }
                }};
            }
            macro_rules! arith_slow_only {
                ($a:expr, $b:expr, $c:expr, $tm:expr) => {{
                    let x = rk!($b);
                    let y = rk!($c);
                    savepc!();
                    self.top = live_top!();
                    let r = self.arith($tm, x, y, Some($b), Some($c))?;
                    reg!($a) = r;
                }};
            }
            loop {
                // SAFETY: see the comment above `reg!`.
                let i = unsafe { *ip };
                jump!(1);
                match i {
                    // SAFETY: both are this frame's registers (see `reg!`).
                    Instr::Move(a, b) => unsafe {
                        copy_value(regs.add(a as usize), regs.add(b as usize))
                    },
                    // SAFETY: constant and register operands in range (see `reg!`).
                    Instr::LoadK(a, kx) => unsafe {
                        copy_value(regs.add(a as usize), k.as_ptr().add(kx as usize))
                    },
                    // SAFETY: a register of this frame (see `reg!`).
                    Instr::LoadI(a, v) => unsafe { write_int(regs.add(a as usize), v as i64) },
                    Instr::LoadNil(a, n) => {
                        for r in a as usize..=a as usize + n as usize {
                            reg!(r) = Value::Nil;
                        }
                    }
                    Instr::LoadBool(a, b) => reg!(a) = Value::Bool(b),
                    Instr::LFalseSkip(a) => {
                        reg!(a) = Value::Bool(false);
                        jump!(1);
                    }
                    Instr::GetUpval(a, b) => {
                        // SAFETY: the compiler emits upvalue indices below the
                        // closure's upvalue count; an open upvalue holds a live
                        // stack index (closed before its frame is popped).
                        unsafe {
                            let u = *cl.get().upvals.get_unchecked(b as usize);
                            match u.get() {
                                UpVal::Open(i) => {
                                    copy_value(regs.add(a as usize), self.stack.as_ptr().add(*i))
                                }
                                UpVal::Closed(v) => copy_value(regs.add(a as usize), v),
                            }
                        }
                    }
                    Instr::SetUpval(a, b) => {
                        let v = reg!(a);
                        let u = cl.get().upvals[b as usize];
                        match u.get_mut() {
                            UpVal::Open(idx) => {
                                let idx = *idx;
                                self.stack[idx] = v
                            }
                            UpVal::Closed(c) => *c = v,
                        }
                    }
                    Instr::GetTabUp(a, b, c) => {
                        // fast path: global read from a plain `_ENV` table
                        // SAFETY: as in GetUpval; the constant index is in range.
                        unsafe {
                            let u = *cl.get().upvals.get_unchecked(b as usize);
                            if let UpVal::Closed(Value::Table(env)) = u.get() {
                                if let Value::Str(ks) = *k.get_unchecked(c as usize) {
                                    let v = env.get().get_str(ks);
                                    if !v.is_nil() {
                                        copy_value(regs.add(a as usize), &v);
                                        continue;
                                    }
                                }
                            }
                        }
                        let t = cl.get().upvals[b as usize].get().get(self);
                        let key = k[c as usize];
                        let v = match (t, key) {
                            (Value::Table(tb), Value::Str(s)) => {
                                let v = tb.get().get_str(s);
                                if v.is_nil() && tb.get().meta.is_some() {
                                    savepc!();
                                    self.top = live_top!();
                                    self.index(t, key, None)?
                                } else {
                                    v
                                }
                            }
                            _ => {
                                savepc!();
                                self.top = live_top!();
                                self.index_upval(t, key, b)?
                            }
                        };
                        reg!(a) = v;
                    }
                    Instr::SetTabUp(a, b, c) => {
                        let t = cl.get().upvals[a as usize].get().get(self);
                        let key = k[b as usize];
                        let v = rk!(c);
                        match (t, key) {
                            (Value::Table(tb), Value::Str(s)) if tb.get().meta.is_none() => {
                                let g = tb.get_mut().set_str(s, v);
                                if g > 0 {
                                    self.heap.note_growth(g);
                                }
                            }
                            _ => {
                                savepc!();
                                self.top = live_top!();
                                if !matches!(t, Value::Table(_))
                                    && self.metamethod(t, Tm::NewIndex).is_nil()
                                {
                                    let name =
                                        String::from_utf8_lossy(&proto.upval_names[a as usize])
                                            .into_owned();
                                    let tn = self.type_name_mt(t);
                                    return Err(self.rt_error(&format!(
                                        "attempt to index a {} value (upvalue '{}')",
                                        tn, name
                                    )));
                                }
                                self.set_index(t, key, v, None)?;
                            }
                        }
                    }
                    Instr::GetTable(a, b, c) => {
                        // fast path: plain array read
                        // SAFETY: register/constant operand of this frame, in bounds (see the comment above `reg!`).
                        let pt = unsafe { regs.add(b as usize) as *const Value };
                        let pk = rkp!(c);
                        // SAFETY: valid values (see `reg!`); the tags are checked
                        // before reading the payloads as table handle / integer.
                        let fast = unsafe {
                            if tag_at(pt) == TAG_TABLE && tag_at(pk) == TAG_INT {
                                let tb = table_at(pt);
                                let i = int_at(pk);
                                let arr = &tb.get().arr;
                                if (i as u64).wrapping_sub(1) < arr.len() as u64 {
                                    *arr.get_unchecked((i - 1) as usize)
                                } else {
                                    // integer key in the hash part (e.g. 0)
                                    tb.get().get_int(i)
                                }
                            } else {
                                Value::Nil
                            }
                        };
                        if !fast.is_nil() {
                            reg!(a) = fast;
                            continue;
                        }
                        let t = reg!(b);
                        let key = rk!(c);
                        let v = match (t, key) {
                            (Value::Table(tb), Value::Int(n)) => {
                                let v = tb.get().get_int(n);
                                if v.is_nil() && tb.get().meta.is_some() {
                                    savepc!();
                                    self.top = live_top!();
                                    self.index(t, key, Some(b as u16))?
                                } else {
                                    v
                                }
                            }
                            (Value::Table(tb), _) => {
                                let v = tb.get().get(key);
                                if v.is_nil() && tb.get().meta.is_some() {
                                    savepc!();
                                    self.top = live_top!();
                                    self.index(t, key, Some(b as u16))?
                                } else {
                                    v
                                }
                            }
                            _ => {
                                savepc!();
                                self.top = live_top!();
                                self.index(t, key, Some(b as u16))?
                            }
                        };
                        reg!(a) = v;
                    }
                    Instr::GetField(a, b, c) => {
                        // SAFETY: registers/constants as in `reg!`; the tag is
                        // checked before reading the table handle.
                        unsafe {
                            let pt = regs.add(b as usize) as *const Value;
                            if tag_at(pt) == TAG_TABLE {
                                if let Value::Str(ks) = *k.get_unchecked(c as usize) {
                                    let tg = table_at(pt);
                                    let tb = tg.get();
                                    let (v, resolved) = field_lookup!(tb, ks);
                                    if resolved {
                                        copy_value(regs.add(a as usize), &v);
                                        continue;
                                    }
                                }
                            }
                        }
                        let t = reg!(b);
                        let key = k[c as usize];
                        let v = match (t, key) {
                            (Value::Table(tb), Value::Str(s)) => {
                                let v = tb.get().get_str(s);
                                if v.is_nil() && tb.get().meta.is_some() {
                                    savepc!();
                                    self.top = live_top!();
                                    self.index(t, key, Some(b as u16))?
                                } else {
                                    v
                                }
                            }
                            _ => {
                                savepc!();
                                self.top = live_top!();
                                self.index(t, key, Some(b as u16))?
                            }
                        };
                        reg!(a) = v;
                    }
                    Instr::SetTable(a, b, c) => {
                        // fast path: plain array write inside the array part
                        // SAFETY: register/constant operand of this frame, in bounds (see the comment above `reg!`).
                        let pt = unsafe { regs.add(a as usize) as *const Value };
                        let pk = rkp!(b);
                        // SAFETY: as in GetTable's fast path.
                        let val = rk!(c);
                        unsafe {
                            if tag_at(pt) == TAG_TABLE && tag_at(pk) == TAG_INT {
                                let tb = table_at(pt);
                                let t = tb.get_mut();
                                let i = int_at(pk);
                                if (i as u64).wrapping_sub(1) < t.arr.len() as u64
                                    && match t.meta {
                                        None => true,
                                        Some(mt) => self.tm_of(mt, Tm::NewIndex).is_nil(),
                                    }
                                {
                                    *t.arr.get_unchecked_mut((i - 1) as usize) = val;
                                    continue;
                                }
                            }
                        }
                        let t = reg!(a);
                        let key = rk!(b);
                        let v = rk!(c);
                        match t {
                            Value::Table(tb)
                                if match tb.get().meta {
                                    None => true,
                                    Some(mt) => self.tm_of(mt, Tm::NewIndex).is_nil(),
                                } =>
                            {
                                match key {
                                    Value::Int(_) => {
                                        let g = tb.get_mut().set(key, v);
                                        if g > 0 {
                                            self.heap.note_growth(g);
                                        }
                                    }
                                    Value::Str(s) => {
                                        let g = tb.get_mut().set_str(s, v);
                                        if g > 0 {
                                            self.heap.note_growth(g);
                                        }
                                    }
                                    _ => {
                                        savepc!();
                                        self.raw_set(tb, key, v)?;
                                    }
                                }
                            }
                            _ => {
                                savepc!();
                                self.top = live_top!();
                                self.set_index(t, key, v, Some(a as u16))?;
                            }
                        }
                    }
                    Instr::SetField(a, b, c) => {
                        // SAFETY: as in GetField.
                        unsafe {
                            let pt = regs.add(a as usize) as *const Value;
                            if tag_at(pt) == TAG_TABLE {
                                if let Value::Str(ks) = *k.get_unchecked(b as usize) {
                                    let tg = table_at(pt);
                                    let tb = tg.get_mut();
                                    // no metatable, or one without `__newindex`
                                    // (absence cached in the metatable's flags):
                                    // a raw store, whether or not the key exists
                                    let raw = match tb.meta {
                                        None => true,
                                        Some(mt) => self.tm_of(mt, Tm::NewIndex).is_nil(),
                                    };
                                    if raw {
                                        let v = if c & RK_CONST != 0 {
                                            *k.get_unchecked((c & 0x7fff) as usize)
                                        } else {
                                            *regs.add(c as usize)
                                        };
                                        let g = tb.set_str(ks, v);
                                        if g > 0 {
                                            self.heap.note_growth(g);
                                        }
                                        continue;
                                    }
                                }
                            }
                        }
                        let t = reg!(a);
                        let key = k[b as usize];
                        let v = rk!(c);
                        match (t, key) {
                            (Value::Table(tb), Value::Str(s)) if tb.get().meta.is_none() => {
                                let g = tb.get_mut().set_str(s, v);
                                if g > 0 {
                                    self.heap.note_growth(g);
                                }
                            }
                            _ => {
                                savepc!();
                                self.top = live_top!();
                                self.set_index(t, key, v, Some(a as u16))?;
                            }
                        }
                    }
                    Instr::NewTable(a, b, c) => {
                        let t = self.heap.alloc_table(Table::new(b as usize, c as usize));
                        reg!(a) = Value::Table(t);
                        if self.heap.should_collect() {
                            savepc!();
                            self.collect(live_top!());
                        }
                    }
                    Instr::SelfOp(a, b, c) => {
                        // SAFETY: as in GetField.
                        unsafe {
                            let pt = regs.add(b as usize) as *const Value;
                            if tag_at(pt) == TAG_TABLE {
                                if let Value::Str(ks) = *k.get_unchecked(c as usize) {
                                    let tg = table_at(pt);
                                    let tb = tg.get();
                                    let (v, resolved) = field_lookup!(tb, ks);
                                    if resolved {
                                        copy_value(regs.add(a as usize + 1), pt);
                                        copy_value(regs.add(a as usize), &v);
                                        continue;
                                    }
                                }
                            }
                        }
                        let obj = reg!(b);
                        let key = k[c as usize];
                        reg!(a + 1) = obj;
                        let v = match (obj, key) {
                            (Value::Table(tb), Value::Str(s)) => {
                                let v = tb.get().get_str(s);
                                if v.is_nil() && tb.get().meta.is_some() {
                                    savepc!();
                                    self.top = live_top!();
                                    self.index(obj, key, Some(b as u16))?
                                } else {
                                    v
                                }
                            }
                            (Value::Str(_), Value::Str(s)) if self.string_meta.is_some() => {
                                // fast path for s:method() → string table
                                let mt = self.string_meta.unwrap();
                                match self.tm_of(mt, Tm::Index) {
                                    Value::Table(st) => {
                                        let v = st.get().get_str(s);
                                        if v.is_nil() {
                                            savepc!();
                                            self.top = live_top!();
                                            self.index(obj, key, Some(b as u16))?
                                        } else {
                                            v
                                        }
                                    }
                                    _ => {
                                        savepc!();
                                        self.top = live_top!();
                                        self.index(obj, key, Some(b as u16))?
                                    }
                                }
                            }
                            _ => {
                                savepc!();
                                self.top = live_top!();
                                self.index(obj, key, Some(b as u16))?
                            }
                        };
                        reg!(a) = v;
                    }
                    Instr::Add(a, b, c) => arith!(
                        a,
                        b,
                        c,
                        Tm::Add,
                        |p: i64, q: i64| Value::Int(p.wrapping_add(q)),
                        |p: f64, q: f64| p + q
                    ),
                    Instr::Sub(a, b, c) => arith!(
                        a,
                        b,
                        c,
                        Tm::Sub,
                        |p: i64, q: i64| Value::Int(p.wrapping_sub(q)),
                        |p: f64, q: f64| p - q
                    ),
                    Instr::Mul(a, b, c) => arith!(
                        a,
                        b,
                        c,
                        Tm::Mul,
                        |p: i64, q: i64| Value::Int(p.wrapping_mul(q)),
                        |p: f64, q: f64| p * q
                    ),
                    Instr::Div(a, b, c) => {
                        arith!(
                            a,
                            b,
                            c,
                            Tm::Div,
                            |p: i64, q: i64| Value::Num(p as f64 / q as f64),
                            |p: f64, q: f64| p / q
                        )
                    }
                    Instr::Pow(a, b, c) => {
                        arith!(
                            a,
                            b,
                            c,
                            Tm::Pow,
                            |p: i64, q: i64| Value::Num((p as f64).powf(q as f64)),
                            |p: f64, q: f64| p.powf(q)
                        )
                    }
                    Instr::Mod(a, b, c) => {
                        let x = rk!(b);
                        let y = rk!(c);
                        match (x, y) {
                            (Value::Int(p), Value::Int(q)) if q != 0 => {
                                reg!(a) = Value::Int(imod(p, q))
                            }
                            (Value::Num(p), Value::Num(q)) => reg!(a) = Value::Num(fmod(p, q)),
                            (Value::Num(p), Value::Int(q)) => {
                                reg!(a) = Value::Num(fmod(p, q as f64))
                            }
                            (Value::Int(p), Value::Num(q)) => {
                                reg!(a) = Value::Num(fmod(p as f64, q))
                            }
                            _ => arith_slow_only!(a, b, c, Tm::Mod),
                        }
                    }
                    Instr::IDiv(a, b, c) => {
                        let x = rk!(b);
                        let y = rk!(c);
                        match (x, y) {
                            (Value::Int(p), Value::Int(q)) if q != 0 => {
                                reg!(a) = Value::Int(idiv(p, q))
                            }
                            (Value::Num(p), Value::Num(q)) => reg!(a) = Value::Num((p / q).floor()),
                            (Value::Num(p), Value::Int(q)) => {
                                reg!(a) = Value::Num((p / q as f64).floor())
                            }
                            (Value::Int(p), Value::Num(q)) => {
                                reg!(a) = Value::Num((p as f64 / q).floor())
                            }
                            _ => arith_slow_only!(a, b, c, Tm::IDiv),
                        }
                    }
                    Instr::BAnd(a, b, c) => match (rk!(b), rk!(c)) {
                        (Value::Int(p), Value::Int(q)) => reg!(a) = Value::Int(p & q),
                        _ => arith_slow_only!(a, b, c, Tm::BAnd),
                    },
                    Instr::BOr(a, b, c) => match (rk!(b), rk!(c)) {
                        (Value::Int(p), Value::Int(q)) => reg!(a) = Value::Int(p | q),
                        _ => arith_slow_only!(a, b, c, Tm::BOr),
                    },
                    Instr::BXor(a, b, c) => match (rk!(b), rk!(c)) {
                        (Value::Int(p), Value::Int(q)) => reg!(a) = Value::Int(p ^ q),
                        _ => arith_slow_only!(a, b, c, Tm::BXor),
                    },
                    Instr::Shl(a, b, c) => match (rk!(b), rk!(c)) {
                        (Value::Int(p), Value::Int(q)) => reg!(a) = Value::Int(shift_left(p, q)),
                        _ => arith_slow_only!(a, b, c, Tm::Shl),
                    },
                    Instr::Shr(a, b, c) => match (rk!(b), rk!(c)) {
                        (Value::Int(p), Value::Int(q)) => {
                            reg!(a) = Value::Int(shift_left(p, q.wrapping_neg()))
                        }
                        _ => arith_slow_only!(a, b, c, Tm::Shr),
                    },
                    Instr::Unm(a, b) => {
                        let v = reg!(b);
                        reg!(a) = match v {
                            Value::Int(i) => Value::Int(i.wrapping_neg()),
                            Value::Num(f) => Value::Num(-f),
                            _ => {
                                savepc!();
                                self.top = live_top!();
                                match Vm::tonumber(v) {
                                    Some(Value::Int(i)) => Value::Int(i.wrapping_neg()),
                                    Some(Value::Num(f)) => Value::Num(-f),
                                    _ => {
                                        let h = self.metamethod(v, Tm::Unm);
                                        if matches!(v, Value::Str(_)) {
                                            return Err(self.rt_error(
                                                "attempt to unm a 'string' with a 'string'",
                                            ));
                                        }
                                        if h.is_nil() {
                                            return Err(self.type_error(
                                                v,
                                                "perform arithmetic on",
                                                Some(b as u16),
                                            ));
                                        }
                                        self.call_value(h, &[v, v], 1)?[0]
                                    }
                                }
                            }
                        };
                    }
                    Instr::BNot(a, b) => {
                        let v = reg!(b);
                        reg!(a) = match v {
                            Value::Int(i) => Value::Int(!i),
                            _ => {
                                savepc!();
                                self.top = live_top!();
                                let h = self.metamethod(v, Tm::BNot);
                                if !h.is_nil() {
                                    self.call_value(h, &[v, v], 1)?[0]
                                } else {
                                    match Vm::tonumber(v) {
                                        Some(n) => match Vm::toint(n) {
                                            Some(i) => Value::Int(!i),
                                            None => {
                                                return Err(self.rt_error(
                                                    "number has no integer representation",
                                                ))
                                            }
                                        },
                                        None => {
                                            return Err(self.type_error(
                                                v,
                                                "perform bitwise operation on",
                                                Some(b as u16),
                                            ))
                                        }
                                    }
                                }
                            }
                        };
                    }
                    Instr::Not(a, b) => reg!(a) = Value::Bool(!reg!(b).truthy()),
                    Instr::Len(a, b) => {
                        let v = reg!(b);
                        reg!(a) = match v {
                            Value::Table(t) if t.get().meta.is_none() => Value::Int(t.get().len()),
                            Value::Str(s) => Value::Int(s.get().bytes.len() as i64),
                            _ => {
                                savepc!();
                                self.top = live_top!();
                                self.len(v, Some(b as u16))?
                            }
                        };
                    }
                    Instr::Concat(a, b, c) => {
                        savepc!();
                        self.top = live_top!();
                        let v = self.concat(base + b as usize, c as usize)?;
                        reg!(a) = v;
                        if self.heap.should_collect() {
                            self.collect(live_top!());
                        }
                    }
                    // A forward jump (`Code::new` turns backward ones into
                    // `JmpBack`).
                    Instr::Jmp(off) => jump!(off),
                    Instr::JmpBack(off) => {
                        // MERGE POINT (loop back-edge)
                        jump!(off);
                        if jit_on {
                            merge_point!();
                        }
                    }
                    // A backward jump of a loop the JIT gave up.
                    Instr::IJmp(off) => jump!(off),
                    Instr::Close(a) => {
                        self.close_upvals(base + a as usize);
                        if let Some(&t) = self.tbc.last() {
                            if t >= base + a as usize {
                                savepc!();
                                self.top = live_top!();
                                self.close_tbc(base + a as usize, None)?;
                            }
                        }
                    }
                    Instr::Tbc(a) => {
                        let v = reg!(a);
                        if v.truthy() {
                            if self.metamethod(v, Tm::Close).is_nil() {
                                savepc!();
                                let name = proto
                                    .local_name(a, pc!() - 1)
                                    .map(|n| String::from_utf8_lossy(n).into_owned())
                                    .unwrap_or_else(|| "?".into());
                                return Err(self.rt_error(&format!(
                                    "variable '{}' got a non-closable value",
                                    name
                                )));
                            }
                            self.tbc.push(base + a as usize);
                        }
                    }
                    Instr::Eq(kk, b, c) => {
                        // fast path: integers, or strings/booleans (compared
                        // by payload: strings are interned)
                        let (pb, pc_) = rkp2!(b, c);
                        // SAFETY: operands are valid `Value`s (see `reg!`);
                        // payloads are read only for equal tags that have one.
                        let fast = unsafe {
                            let (tb, tc) = (tag_at(pb), tag_at(pc_));
                            if tb == tc && (tb == TAG_INT || tb == TAG_STR) {
                                Some(int_at(pb) == int_at(pc_))
                            } else {
                                None
                            }
                        };
                        if let Some(r) = fast {
                            if r != kk {
                                jump!(1);
                            }
                            continue;
                        }
                        let x = rk!(b);
                        let y = rk!(c);
                        let r = match (x, y) {
                            (Value::Int(p), Value::Int(q)) => p == q,
                            (Value::Str(p), Value::Str(q)) => Gc::ptr_eq(p, q),
                            (Value::Table(_), Value::Table(_)) => {
                                savepc!();
                                self.top = live_top!();
                                self.equals(x, y)?
                            }
                            _ => x.raw_eq(&y),
                        };
                        if r != kk {
                            jump!(1);
                        }
                    }
                    Instr::Lt(kk, b, c) => compare!(kk, b, c, <, less_than),
                    Instr::Le(kk, b, c) => compare!(kk, b, c, <=, less_equal),
                    Instr::Test(a, kk) => {
                        if reg!(a).truthy() != kk {
                            jump!(1);
                        }
                    }
                    Instr::Call(a, b, c) => {
                        let func = base + a as usize;
                        let mut nargs = if b != 0 {
                            b as usize - 1
                        } else {
                            self.top - func - 1
                        };
                        savepc!();
                        let nres = c as i32 - 1;
                        // fast path: a Lua function (read through `regs`:
                        // `func` is register `a` of this frame)
                        // SAFETY: a register of this frame (see `reg!`).
                        if let Value::LFn(ncl) = unsafe { *regs.add(a as usize) } {
                            self.push_frame(ncl, func, nargs, nres, false)?;
                            continue 'newframe;
                        }
                        loop {
                            match self.stack[func] {
                                Value::LFn(ncl) => {
                                    self.push_frame(ncl, func, nargs, nres, false)?;
                                    continue 'newframe;
                                }
                                Value::NFn(nf) => {
                                    self.call_native(nf, func, nargs, nres)?;
                                    let lt = if nres < 0 {
                                        self.top.max(live_top!())
                                    } else {
                                        live_top!()
                                    };
                                    if self.heap.should_collect() {
                                        self.collect(lt);
                                    }
                                    break;
                                }
                                v => {
                                    nargs = self.insert_call_tm(v, func, nargs, Some(a as u16))?;
                                }
                            }
                        }
                    }
                    Instr::TailCall(a, b) => {
                        let func = base + a as usize;
                        let mut nargs = if b != 0 {
                            b as usize - 1
                        } else {
                            self.top - func - 1
                        };
                        savepc!();
                        loop {
                            match self.stack[func] {
                                Value::LFn(ncl) => {
                                    // reuse the current frame
                                    if let Some(&t) = self.tbc.last() {
                                        if t >= base {
                                            self.top = (func + nargs + 1).max(live_top!());
                                            self.close_tbc(base, None)?;
                                        }
                                    }
                                    self.close_upvals(base);
                                    let cur = self.frames.pop().unwrap();
                                    let dst = cur.func;
                                    for i in 0..=nargs {
                                        self.stack[dst + i] = self.stack[func + i];
                                    }
                                    self.push_frame(ncl, dst, nargs, cur.nres, cur.entry)?;
                                    self.frames.last_mut().unwrap().from_native = cur.from_native;
                                    continue 'newframe;
                                }
                                Value::NFn(nf) => {
                                    self.call_native(nf, func, nargs, -1)?;
                                    // then return all results
                                    let n = self.top - func;
                                    if self.do_return(func, n) {
                                        return Ok(());
                                    }
                                    continue 'newframe;
                                }
                                v => {
                                    nargs = self.insert_call_tm(v, func, nargs, Some(a as u16))?;
                                }
                            }
                        }
                    }
                    Instr::Return(a, b) => {
                        let first = base + a as usize;
                        let n = if b != 0 {
                            b as usize - 1
                        } else {
                            self.top - first
                        };
                        if let Some(&t) = self.tbc.last() {
                            if t >= base {
                                savepc!();
                                self.top = (first + n).max(live_top!());
                                self.close_tbc(base, None)?;
                            }
                        }
                        if self.do_return(first, n) {
                            return Ok(());
                        }
                        continue 'newframe;
                    }
                    // The JIT pushed frames (see `Instr::ReloadFrame`).
                    Instr::ReloadFrame => continue 'newframe,
                    Instr::ForPrep(a, off) => {
                        savepc!();
                        if !self.for_prep(base + a as usize)? {
                            jump!(off);
                        }
                    }
                    Instr::ForLoop(a, off) => for_loop!(a, off, true),
                    Instr::IForLoop(a, off) => for_loop!(a, off, false),
                    Instr::TForCall(a, c) => {
                        let ra = base + a as usize;
                        savepc!();
                        let f = self.stack[ra];
                        // fast path: next over a plain table
                        if let Value::NFn(nf) = f {
                            if std::ptr::eq(
                                nf.get().f as *const (),
                                super::lib_base::lua_next as *const (),
                            ) {
                                if let Value::Table(t) = self.stack[ra + 1] {
                                    match t.get().next(self.stack[ra + 2]) {
                                        Ok(Some((kk, vv))) => {
                                            self.stack[ra + 4] = kk;
                                            if c >= 2 {
                                                self.stack[ra + 5] = vv;
                                            }
                                            for r in 2..c as usize {
                                                self.stack[ra + 4 + r] = Value::Nil;
                                            }
                                        }
                                        Ok(None) => self.stack[ra + 4] = Value::Nil,
                                        Err(()) => {
                                            return Err(self.rt_error("invalid key to 'next'"))
                                        }
                                    }
                                    continue;
                                }
                            }
                        }
                        if !matches!(f, Value::LFn(_) | Value::NFn(_))
                            && self.metamethod(f, Tm::Call).is_nil()
                        {
                            let tn = self.type_name_mt(f);
                            return Err(self.rt_error(&format!(
                                "attempt to call a {} value (for iterator 'for iterator')",
                                tn
                            )));
                        }
                        let cb = ra + 4 + c as usize;
                        self.ensure_stack(cb + 4)?;
                        self.stack[cb] = f;
                        self.stack[cb + 1] = self.stack[ra + 1];
                        self.stack[cb + 2] = self.stack[ra + 2];
                        self.top = cb + 3;
                        self.call(cb, 2, c as i32)?;
                        for r in 0..c as usize {
                            self.stack[ra + 4 + r] = self.stack[cb + r];
                        }
                        if self.heap.should_collect() {
                            self.collect(live_top!());
                        }
                    }
                    Instr::TForLoop(a, off) => tfor_loop!(a, off, true),
                    Instr::ITForLoop(a, off) => tfor_loop!(a, off, false),
                    Instr::SetList(a, b, off) => {
                        let ra = base + a as usize;
                        let n = if b != 0 {
                            b as usize
                        } else {
                            self.top - ra - 1
                        };
                        if let Value::Table(t) = self.stack[ra] {
                            let tm = t.get_mut();
                            if off as usize == tm.arr.len() && tm.hash_is_empty() {
                                // the usual constructor case: the items
                                // extend the array part (nils included,
                                // as lua5.4's presized array part holds them)
                                let cap = tm.arr.capacity();
                                super::heap::reserve(&mut tm.arr, n);
                                tm.arr.extend_from_slice(&self.stack[ra + 1..ra + 1 + n]);
                                let grown = (tm.arr.capacity() - cap) * 16;
                                if grown > 0 {
                                    self.heap.note_growth(grown);
                                }
                            } else {
                                for i in 1..=n {
                                    let v = self.stack[ra + i];
                                    tm.set(Value::Int(off as i64 + i as i64), v);
                                }
                            }
                        }
                    }
                    Instr::Closure(a, bx) => {
                        let p = proto.protos[bx as usize].clone();
                        let mut ups = Vec::with_capacity(p.upvals.len());
                        for &(instack, idx) in p.upvals.iter() {
                            if instack {
                                ups.push(self.find_upval(base + idx as usize));
                            } else {
                                ups.push(cl.get().upvals[idx as usize]);
                            }
                        }
                        let ncl = self.heap.alloc_lclosure(LClosure {
                            proto: p,
                            upvals: ups,
                        });
                        reg!(a) = Value::LFn(ncl);
                        if self.heap.should_collect() {
                            savepc!();
                            self.collect(live_top!());
                        }
                    }
                    Instr::VarArg(a, b) => {
                        let fr = self.frames[fi];
                        let nvar = fr.nvarargs;
                        let src = fr.func + 1 + proto.num_params as usize;
                        let ra = base + a as usize;
                        if b == 0 {
                            savepc!();
                            self.ensure_stack(ra + nvar + 1)?;
                            for i in 0..nvar {
                                self.stack[ra + i] = self.stack[src + i];
                            }
                            self.top = ra + nvar;
                        } else {
                            for i in 0..(b as usize - 1) {
                                self.stack[ra + i] = if i < nvar {
                                    self.stack[src + i]
                                } else {
                                    Value::Nil
                                };
                            }
                        }
                    }
                }
            }
        }
    }

    /// Finishes the innermost frame, moving `n` results from `first` to
    /// its function slot. Returns true if that frame was an entry frame.
    #[inline(always)]
    fn do_return(&mut self, first: usize, n: usize) -> bool {
        let fr = self.frames.pop().unwrap();
        if let Some(&(idx, _)) = self.open_upvals.last() {
            if idx >= fr.base.min(fr.func + 1) {
                self.close_upvals(fr.func + 1);
            }
        }
        let dst = fr.func;
        let want = if fr.nres < 0 { n } else { fr.nres as usize };
        debug_assert!(dst + want <= self.stack.len() && first + n <= self.stack.len());
        let sp = self.stack.as_mut_ptr();
        for i in 0..want {
            // SAFETY: `first + n` and `dst + want` are within the stack: the
            // results lie in the returning frame's registers (or below top)
            // and `dst < first`; the stack holds STACK_SLOTS values.
            unsafe {
                if i < n {
                    copy_value(sp.add(dst + i), sp.add(first + i));
                } else {
                    *sp.add(dst + i) = Value::Nil;
                }
            }
        }
        if fr.nres < 0 {
            self.top = dst + n;
        }
        fr.entry
    }

    fn index_upval(&mut self, t: Value, key: Value, up: u8) -> LResult<Value> {
        if !matches!(t, Value::Table(_)) && self.metamethod(t, Tm::Index).is_nil() {
            let f = self.frames.last().unwrap();
            let name =
                String::from_utf8_lossy(&f.cl.get().proto.upval_names[up as usize]).into_owned();
            let tn = self.type_name_mt(t);
            return Err(self.rt_error(&format!(
                "attempt to index a {} value (upvalue '{}')",
                tn, name
            )));
        }
        self.index(t, key, None)
    }

    /// Lua 5.4 numeric-for preparation; returns false if the loop is empty.
    fn for_prep(&mut self, ra: usize) -> LResult<bool> {
        let init = self.stack[ra];
        let limit = self.stack[ra + 1];
        let step = self.stack[ra + 2];
        if let (Value::Int(i0), Value::Int(st)) = (init, step) {
            if st == 0 {
                return Err(self.rt_error("'for' step is zero"));
            }
            // integer loop: convert limit
            let lim = match limit {
                Value::Int(l) => l,
                Value::Num(f) => {
                    if f.is_nan() {
                        return Ok(false);
                    }
                    let fl = if st < 0 { f.ceil() } else { f.floor() };
                    if fl >= -(i64::MIN as f64) {
                        if st < 0 {
                            return Ok(false);
                        }
                        i64::MAX
                    } else if fl < i64::MIN as f64 {
                        if st > 0 {
                            return Ok(false);
                        }
                        i64::MIN
                    } else {
                        fl as i64
                    }
                }
                _ => return Err(self.for_error("limit", limit)),
            };
            if if st > 0 { i0 > lim } else { i0 < lim } {
                return Ok(false);
            }
            let count = if st > 0 {
                (lim as u64).wrapping_sub(i0 as u64) / st as u64
            } else {
                let s = (st as u64).wrapping_neg();
                (i0 as u64).wrapping_sub(lim as u64) / s
            };
            // count may exceed i64::MAX only if step is 1/-1 over the whole
            // range; store as i64 bits and treat as unsigned
            self.stack[ra + 1] = Value::Int(count.min(i64::MAX as u64) as i64);
            if count > i64::MAX as u64 {
                // extremely long loop: approximate by max count (never finishes in practice)
            }
            self.stack[ra + 3] = Value::Int(i0);
            return Ok(true);
        }
        let tof = |v: Value| -> Option<f64> {
            match v {
                Value::Int(i) => Some(i as f64),
                Value::Num(f) => Some(f),
                _ => None,
            }
        };
        let l = match tof(limit) {
            Some(l) => l,
            None => return Err(self.for_error("limit", limit)),
        };
        let s = match tof(step) {
            Some(s) => s,
            None => return Err(self.for_error("step", step)),
        };
        let i = match tof(init) {
            Some(i) => i,
            None => return Err(self.for_error("initial value", init)),
        };
        if s == 0.0 {
            return Err(self.rt_error("'for' step is zero"));
        }
        if if s > 0.0 { l < i } else { i < l } {
            return Ok(false);
        }
        self.stack[ra] = Value::Num(i);
        self.stack[ra + 1] = Value::Num(l);
        self.stack[ra + 2] = Value::Num(s);
        self.stack[ra + 3] = Value::Num(i);
        Ok(true)
    }

    fn for_error(&mut self, what: &str, v: Value) -> LuaError {
        let tn = self.type_name_mt(v);
        self.rt_error(&format!("'for' {} must be a number", what).replace(
            &format!("'for' {} must be a number", what),
            &format!("bad 'for' {} (number expected, got {})", what, tn),
        ))
    }
}

impl Default for Vm {
    fn default() -> Self {
        Self::new()
    }
}

/// Which register an instruction writes (for `varinfo`'s backward scan).
fn target_reg(i: &Instr) -> Option<u8> {
    use Instr::*;
    match *i {
        Move(a, _)
        | LoadK(a, _)
        | LoadI(a, _)
        | LoadBool(a, _)
        | LFalseSkip(a)
        | GetUpval(a, _)
        | GetTabUp(a, _, _)
        | GetTable(a, _, _)
        | GetField(a, _, _)
        | NewTable(a, _, _)
        | SelfOp(a, _, _)
        | Add(a, _, _)
        | Sub(a, _, _)
        | Mul(a, _, _)
        | Div(a, _, _)
        | Mod(a, _, _)
        | Pow(a, _, _)
        | IDiv(a, _, _)
        | BAnd(a, _, _)
        | BOr(a, _, _)
        | BXor(a, _, _)
        | Shl(a, _, _)
        | Shr(a, _, _)
        | Unm(a, _)
        | BNot(a, _)
        | Not(a, _)
        | Len(a, _)
        | Concat(a, _, _)
        | Closure(a, _)
        | LoadNil(a, _)
        | Call(a, _, _)
        | VarArg(a, _) => Some(a),
        _ => None,
    }
}

/// lua5.4-style description of what register `reg` holds at `pc`.
pub fn describe_reg(p: &Proto, pc: usize, reg: u8) -> Option<String> {
    if let Some(n) = p.local_name(reg, pc) {
        if n.first() != Some(&b'(') {
            return Some(format!("local '{}'", String::from_utf8_lossy(n)));
        }
    }
    // find the last instruction before pc that sets `reg`
    let mut setter = None;
    for (i, ins) in p.code.iter().take(pc).enumerate() {
        let hit = match ins {
            Instr::LoadNil(a, n) => reg >= a && reg <= a + n,
            Instr::Call(a, _, _) | Instr::VarArg(a, _) => reg >= a,
            Instr::SelfOp(a, _, _) => reg == a || reg == a + 1,
            _ => target_reg(&ins) == Some(reg),
        };
        if hit {
            setter = Some(i);
        }
    }
    let si = setter?;
    let kstr = |k: u16| -> String {
        match p.consts.get(k as usize) {
            Some(Value::Str(s)) => String::from_utf8_lossy(&s.get().bytes).into_owned(),
            _ => "?".into(),
        }
    };
    match p.code.get(si)? {
        Instr::GetTabUp(_, u, k) => {
            if p.upval_names.get(u as usize).map(|n| &n[..]) == Some(b"_ENV") {
                Some(format!("global '{}'", kstr(k)))
            } else {
                Some(format!("field '{}'", kstr(k)))
            }
        }
        Instr::GetField(_, b, k) => {
            if p.local_name(b, si) == Some(b"_ENV") {
                Some(format!("global '{}'", kstr(k)))
            } else {
                Some(format!("field '{}'", kstr(k)))
            }
        }
        Instr::GetTable(_, _, k) => {
            if k & RK_CONST != 0 {
                match p.consts.get((k & 0x7fff) as usize) {
                    Some(Value::Int(_)) => Some("field 'integer index'".to_string()),
                    Some(Value::Str(s)) => Some(format!(
                        "field '{}'",
                        String::from_utf8_lossy(&s.get().bytes)
                    )),
                    _ => Some("field '?'".to_string()),
                }
            } else {
                match describe_reg(p, si, k as u8) {
                    Some(d) if d.starts_with("constant '") => Some(format!("field '{}", &d[10..])),
                    _ => Some("field '?'".to_string()),
                }
            }
        }
        Instr::GetUpval(_, u) => Some(format!(
            "upvalue '{}'",
            String::from_utf8_lossy(&p.upval_names[u as usize])
        )),
        Instr::Move(_, b) => {
            if b < reg {
                p.local_name(b, si)
                    .map(|n| format!("local '{}'", String::from_utf8_lossy(n)))
            } else {
                None
            }
        }
        Instr::LoadK(_, k) => match p.consts.get(k as usize) {
            Some(Value::Str(s)) => Some(format!(
                "constant '{}'",
                String::from_utf8_lossy(&s.get().bytes)
            )),
            _ => None,
        },
        Instr::SelfOp(a, _, k) if a == reg => Some(format!("method '{}'", kstr(k))),
        _ => None,
    }
}

#[inline]
pub fn imod(a: i64, b: i64) -> i64 {
    let r = a.wrapping_rem(b);
    if r != 0 && (r ^ b) < 0 {
        r + b
    } else {
        r
    }
}

#[inline]
pub fn idiv(a: i64, b: i64) -> i64 {
    let q = a.wrapping_div(b);
    if (a.wrapping_rem(b) != 0) && ((a ^ b) < 0) {
        q - 1
    } else {
        q
    }
}

/// Lua's float modulo (`luai_nummod`: C `fmod`, then the result takes the
/// divisor's sign).
#[inline]
pub fn fmod(a: f64, b: f64) -> f64 {
    // Fast exact path: both operands integral and below 2^53 in magnitude
    // (so exactly representable as i64 and the remainder is exact in f64).
    // Rust's `%` on f64 is a software fmod loop, which richards' `x % 2`
    // on floats spent 8% of its instructions in. fmod's zero result has
    // the dividend's sign (`-4.0 % 2 == -0.0`).
    const LIM: f64 = 9_007_199_254_740_992.0; // 2^53
    if a.abs() < LIM && b.abs() < LIM && b != 0.0 {
        let (ai, bi) = (a as i64, b as i64);
        if ai as f64 == a && bi as f64 == b {
            let r = imod(ai, bi);
            return if r == 0 { 0.0f64.copysign(a) } else { r as f64 };
        }
    }
    let r = a % b;
    if r != 0.0 && (r < 0.0) != (b < 0.0) {
        r + b
    } else {
        r
    }
}

pub fn shift_left(x: i64, n: i64) -> i64 {
    if n <= -64 || n >= 64 {
        0
    } else if n >= 0 {
        ((x as u64) << n) as i64
    } else {
        ((x as u64) >> (-n)) as i64
    }
}

fn bitop(op: Tm, a: i64, b: i64) -> i64 {
    match op {
        Tm::BAnd => a & b,
        Tm::BOr => a | b,
        Tm::BXor => a ^ b,
        Tm::Shl => shift_left(a, b),
        Tm::Shr => shift_left(a, b.wrapping_neg()),
        Tm::BNot => !a,
        _ => 0,
    }
}

/// Arithmetic on two numbers (after coercion).
pub fn arith_num(op: Tm, a: Value, b: Value) -> Result<Value, &'static str> {
    let f = |v: Value| match v {
        Value::Int(i) => i as f64,
        Value::Num(f) => f,
        _ => 0.0,
    };
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        return Ok(match op {
            Tm::Add => Value::Int(x.wrapping_add(y)),
            Tm::Sub => Value::Int(x.wrapping_sub(y)),
            Tm::Mul => Value::Int(x.wrapping_mul(y)),
            Tm::Mod => {
                if y == 0 {
                    return Err("attempt to perform 'n%0'");
                }
                Value::Int(imod(x, y))
            }
            Tm::IDiv => {
                if y == 0 {
                    return Err("attempt to divide by zero");
                }
                Value::Int(idiv(x, y))
            }
            Tm::Div => Value::Num(x as f64 / y as f64),
            Tm::Pow => Value::Num((x as f64).powf(y as f64)),
            Tm::Unm => Value::Int(x.wrapping_neg()),
            _ => Value::Nil,
        });
    }
    let (x, y) = (f(a), f(b));
    Ok(Value::Num(match op {
        Tm::Add => x + y,
        Tm::Sub => x - y,
        Tm::Mul => x * y,
        Tm::Div => x / y,
        Tm::Mod => {
            if y.is_infinite() && x.is_finite() {
                if (x >= 0.0) == (y > 0.0) {
                    x
                } else {
                    y
                }
            } else {
                fmod(x, y)
            }
        }
        Tm::IDiv => (x / y).floor(),
        Tm::Pow => x.powf(y),
        Tm::Unm => -x,
        _ => 0.0,
    }))
}

/// Lua's exact integer/float comparison (shared with the JIT recorder).
pub(crate) fn int_lt_float(i: i64, f: f64) -> bool {
    if f.is_nan() {
        return false;
    }
    if f >= 9.3e18 {
        return true;
    }
    if f <= -9.3e18 {
        return false;
    }
    // compare i < f  <=>  i < ceil(f) when f not integral
    let c = f.ceil();
    if c >= -(i64::MIN as f64) {
        return true;
    }
    i < c as i64
}

/// Lua's exact integer/float comparison (shared with the JIT recorder).
pub(crate) fn int_le_float(i: i64, f: f64) -> bool {
    if f.is_nan() {
        return false;
    }
    if f >= 9.3e18 {
        return true;
    }
    if f < -9.3e18 {
        return false;
    }
    let fl = f.floor();
    if fl >= -(i64::MIN as f64) {
        return true;
    }
    i <= fl as i64
}

/// Lua's exact integer/float comparison (shared with the JIT recorder).
pub(crate) fn float_lt_int(f: f64, i: i64) -> bool {
    if f.is_nan() {
        return false;
    }
    !int_le_float(i, f)
}

/// Lua's exact integer/float comparison (shared with the JIT recorder).
pub(crate) fn float_le_int(f: f64, i: i64) -> bool {
    if f.is_nan() {
        return false;
    }
    !int_lt_float(i, f)
}
