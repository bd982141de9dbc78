//! Stage 3 output: the register-based bytecode.
//!
//! One [`Instr`] is an 8-byte `Copy` enum (checked by a test). Registers are
//! `u8` (a frame has at most 250), constants are addressed by `u16`/`u32`.
//! Operands named `RK` are `u16`: bit 15 set = constant index, else a
//! register — this keeps the compiler simple and costs one predictable
//! branch per operand.
//!
//! Loop back-edges (the JIT's merge points, green key = (proto id, pc)) are
//! exactly: [`Instr::ForLoop`], [`Instr::TForLoop`], and [`Instr::Jmp`] with a
//! negative offset (`Instr::is_backedge`).
//!
//! # Interpreter-only back-edges (bytecode patching)
//!
//! When the JIT gives a loop up for good, it rewrites the loop's back-edges
//! in place ([`Code::disable_merge_point`]) to [`Instr::IForLoop`],
//! [`Instr::ITForLoop`] or [`Instr::IJmp`]: the same semantics without the
//! merge point, so the dead loop costs exactly what it costs with
//! `--no-jit`. This is LuaJIT's technique (`FORL` becomes `IFORL` when a
//! loop is blacklisted). The alternative it replaces, a "dead" mark looked
//! up at every back-edge plus a per-activation flag, left 1-2% of
//! instructions on programs whose loops call functions (the flag was set
//! again at every frame entry). The patched forms exist only in the
//! dispatched code: [`Code::get`] and [`Code::iter`] return the
//! instructions as compiled, so every analysis (the recorder, error
//! messages, dumps) sees one instruction set. The dispatched code also has
//! a form of its own for live backward jumps, [`Instr::JmpBack`]
//! ([`Code::new`]), so that the VM's forward `Jmp` carries no direction
//! test (it cost 2 instructions per forward jump with the JIT on).

use std::cell::Cell;

pub const RK_CONST: u16 = 0x8000;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Instr {
    /// Not compiled: the instruction past the end of every prototype's
    /// code ([`Code::reload_pc`]), where the JIT sends the VM after it
    /// pushed frames (of calls that compiled code had inlined and exited
    /// inside): the VM reloads its running frame, the innermost one. A
    /// dispatch-loop arm of its own, because a test after every merge point
    /// cost the interpreter 3-6% instructions even with `--no-jit`.
    ReloadFrame,
    /// R[a] = R[b]
    Move(u8, u8),
    /// R[a] = K[bx]
    LoadK(u8, u32),
    /// R[a] = b as integer
    LoadI(u8, i32),
    /// R[a..=a+b] = nil
    LoadNil(u8, u8),
    /// R[a] = bool
    LoadBool(u8, bool),
    /// R[a] = false; pc++
    LFalseSkip(u8),
    /// R[a] = Up[b]
    GetUpval(u8, u8),
    /// Up[b] = R[a]
    SetUpval(u8, u8),
    /// R[a] = Up[b][K[c]] (c: string constant)
    GetTabUp(u8, u8, u16),
    /// Up[a][K[b]] = RK(c)
    SetTabUp(u8, u16, u16),
    /// R[a] = R[b][RK(c)]
    GetTable(u8, u8, u16),
    /// R[a] = R[b][K[c]] (string constant)
    GetField(u8, u8, u16),
    /// R[a][RK(b)] = RK(c)
    SetTable(u8, u16, u16),
    /// R[a][K[b]] = RK(c) (string constant)
    SetField(u8, u16, u16),
    /// R[a] = {} with size hints
    NewTable(u8, u16, u16),
    /// R[a+1] = R[b]; R[a] = R[b][K[c]]
    SelfOp(u8, u8, u16),
    Add(u8, u16, u16),
    Sub(u8, u16, u16),
    Mul(u8, u16, u16),
    Div(u8, u16, u16),
    Mod(u8, u16, u16),
    Pow(u8, u16, u16),
    IDiv(u8, u16, u16),
    BAnd(u8, u16, u16),
    BOr(u8, u16, u16),
    BXor(u8, u16, u16),
    Shl(u8, u16, u16),
    Shr(u8, u16, u16),
    Unm(u8, u8),
    BNot(u8, u8),
    Not(u8, u8),
    Len(u8, u8),
    /// R[a] = R[b] .. ... .. R[b+c-1]
    Concat(u8, u8, u8),
    /// pc += sJ
    Jmp(i32),
    /// close upvalues >= R[a]
    Close(u8),
    /// if (RK(b) == RK(c)) != a then pc++
    Eq(bool, u16, u16),
    Lt(bool, u16, u16),
    Le(bool, u16, u16),
    /// if truthy(R[a]) != k then pc++
    Test(u8, bool),
    /// R[a], ..., R[a+c-2] = R[a](R[a+1], ..., R[a+b-1]); b=0: args to top; c=0: results to top
    Call(u8, u8, u8),
    TailCall(u8, u8),
    /// return R[a], ..., R[a+b-2]; b=0: to top
    Return(u8, u8),
    /// numeric for: prepare; skip loop (pc += sbx + 1) if empty
    ForPrep(u8, i32),
    /// numeric for back-edge
    ForLoop(u8, i32),
    /// R[a+4..a+3+c] = R[a](R[a+1], R[a+2]) (R[a+3] is the closing value)
    TForCall(u8, u8),
    /// if R[a+4] != nil { R[a+2] = R[a+4]; pc += sbx } (back-edge)
    TForLoop(u8, i32),
    /// R[a][off+i] = R[a+i], 1 <= i <= b (b=0: to top)
    SetList(u8, u8, u32),
    /// R[a] = closure(protos[bx])
    Closure(u8, u32),
    /// R[a], ..., R[a+b-2] = vararg (b=0: all, sets top)
    VarArg(u8, u8),
    /// mark R[a] as to-be-closed (`local x <close>`, generic-for closing value)
    Tbc(u8),
    /// [`Instr::ForLoop`] without the merge point (a loop the JIT gave up).
    IForLoop(u8, i32),
    /// [`Instr::TForLoop`] without the merge point.
    ITForLoop(u8, i32),
    /// A backward [`Instr::Jmp`] as dispatched: the loop back-edge with a
    /// merge point (the VM's forward `Jmp` then needs no direction test).
    JmpBack(i32),
    /// A backward [`Instr::Jmp`] without the merge point.
    IJmp(i32),
}

impl Instr {
    /// Loop back-edges: where the JIT's merge point goes.
    pub fn is_backedge(&self) -> bool {
        match self.unpatched() {
            Instr::ForLoop(..) | Instr::TForLoop(..) => true,
            Instr::Jmp(off) => off < 0,
            _ => false,
        }
    }

    /// The instruction as the compiler emitted it: an interpreter-only
    /// back-edge becomes the back-edge it replaced.
    pub fn unpatched(self) -> Instr {
        match self {
            Instr::IForLoop(a, off) => Instr::ForLoop(a, off),
            Instr::ITForLoop(a, off) => Instr::TForLoop(a, off),
            Instr::JmpBack(off) | Instr::IJmp(off) => Instr::Jmp(off),
            i => i,
        }
    }

    /// The interpreter-only form of a back-edge (None for anything else).
    fn interpreter_only(self) -> Option<Instr> {
        match self {
            Instr::ForLoop(a, off) => Some(Instr::IForLoop(a, off)),
            Instr::TForLoop(a, off) => Some(Instr::ITForLoop(a, off)),
            Instr::JmpBack(off) => Some(Instr::IJmp(off)),
            _ => None,
        }
    }

    /// The target of a back-edge at `pc` (None for anything else).
    pub fn backedge_target(self, pc: usize) -> Option<usize> {
        let off = match self.unpatched() {
            Instr::Jmp(off) if off < 0 => off,
            Instr::ForLoop(_, off) | Instr::TForLoop(_, off) => off,
            _ => return None,
        };
        usize::try_from(pc as isize + 1 + off as isize).ok()
    }
}

/// A prototype's instructions, as dispatched by the VM.
///
/// Immutable except for one kind of in-place rewrite: a loop's back-edges
/// can be switched to their interpreter-only forms
/// ([`Code::disable_merge_point`]). Hence each instruction sits in a
/// [`Cell`]: the VM reads through a raw instruction pointer
/// ([`Code::dispatch_ptr`]) and never holds a reference to an instruction,
/// so a rewrite while a frame of the prototype is running is sound, and
/// the running frame sees it at its next back-edge.
pub struct Code {
    cells: Box<[Cell<Instr>]>,
}

impl Code {
    /// The code of a freshly compiled prototype, in dispatch form:
    /// backward jumps become [`Instr::JmpBack`].
    pub fn new(code: Vec<Instr>) -> Code {
        let dispatch = |i: Instr| match i {
            Instr::Jmp(off) if off < 0 => Instr::JmpBack(off),
            i => i,
        };
        Code {
            cells: code
                .into_iter()
                .map(dispatch)
                .chain([Instr::ReloadFrame])
                .map(Cell::new)
                .collect(),
        }
    }

    /// The pc of the [`Instr::ReloadFrame`] past the end.
    pub fn reload_pc(&self) -> usize {
        self.len()
    }

    /// The number of instructions.
    pub fn len(&self) -> usize {
        self.cells.len() - 1
    }

    /// Whether there are no instructions.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The instruction at `pc` as compiled ([`Instr::unpatched`]).
    pub fn get(&self, pc: usize) -> Option<Instr> {
        self.code().get(pc).map(|c| c.get().unpatched())
    }

    /// The instructions as compiled.
    pub fn iter(&self) -> impl Iterator<Item = Instr> + '_ {
        self.code().iter().map(|c| c.get().unpatched())
    }

    /// The compiled instructions (without the final `ReloadFrame`).
    fn code(&self) -> &[Cell<Instr>] {
        &self.cells[..self.cells.len() - 1]
    }

    /// The instruction at `pc` as the VM dispatches it (patched or not).
    pub fn dispatched(&self, pc: usize) -> Option<Instr> {
        self.code().get(pc).map(Cell::get)
    }

    /// The first instruction, for the VM's instruction pointer. Reads
    /// through it are valid while the prototype lives; the only writes
    /// are [`Code::disable_merge_point`]'s whole-instruction stores.
    pub fn dispatch_ptr(&self) -> *const Instr {
        // `Cell<Instr>` has the same in-memory representation as `Instr`.
        self.cells.as_ptr() as *const Instr
    }

    /// Switches every back-edge to the loop header `header` to its
    /// interpreter-only form; returns how many were rewritten.
    pub fn disable_merge_point(&self, header: usize) -> usize {
        let mut n = 0;
        for (pc, c) in self.cells.iter().enumerate() {
            let i = c.get();
            if i.backedge_target(pc) == Some(header) {
                if let Some(p) = i.interpreter_only() {
                    c.set(p);
                    n += 1;
                }
            }
        }
        n
    }
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.cells.iter().map(Cell::get))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn instr_size() {
        assert_eq!(std::mem::size_of::<super::Instr>(), 8);
        assert_eq!(std::mem::size_of::<super::super::value::Value>(), 16);
        assert_eq!(std::mem::size_of::<std::cell::Cell<super::Instr>>(), 8);
    }

    #[test]
    fn disabling_a_merge_point_patches_only_its_back_edges() {
        use super::{Code, Instr};
        // 0: ForPrep  1: Jmp -2 (to 0)  2: ForLoop -2 (to 1)  3: Jmp -4 (to 0)  4: Jmp 1
        let code = Code::new(vec![
            Instr::ForPrep(0, 1),
            Instr::Jmp(-2),
            Instr::ForLoop(0, -2),
            Instr::Jmp(-4),
            Instr::Jmp(1),
        ]);
        assert_eq!(code.dispatched(1), Some(Instr::JmpBack(-2)));
        assert_eq!(code.disable_merge_point(0), 2);
        assert_eq!(code.dispatched(1), Some(Instr::IJmp(-2)));
        assert_eq!(code.dispatched(3), Some(Instr::IJmp(-4)));
        assert_eq!(code.dispatched(2), Some(Instr::ForLoop(0, -2)));
        assert_eq!(code.dispatched(4), Some(Instr::Jmp(1)));
        // analyses see the code as compiled
        assert_eq!(code.get(1), Some(Instr::Jmp(-2)));
        assert_eq!(code.disable_merge_point(1), 1);
        assert_eq!(code.get(2), Some(Instr::ForLoop(0, -2)));
        assert_eq!(code.dispatched(2), Some(Instr::IForLoop(0, -2)));
        assert_eq!(code.disable_merge_point(1), 0);
    }
}
