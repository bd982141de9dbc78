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

pub const RK_CONST: u16 = 0x8000;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Instr {
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
}

impl Instr {
    /// Loop back-edges: where the JIT's merge point goes.
    pub fn is_backedge(&self) -> bool {
        match *self {
            Instr::ForLoop(..) | Instr::TForLoop(..) => true,
            Instr::Jmp(off) => off < 0,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn instr_size() {
        assert_eq!(std::mem::size_of::<super::Instr>(), 8);
        assert_eq!(std::mem::size_of::<super::super::value::Value>(), 16);
    }
}
