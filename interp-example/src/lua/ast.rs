//! Stage 2 output: the abstract syntax tree.
//!
//! The parser builds this tree; the compiler walks it once to emit bytecode.
//! Every expression and statement carries the source line the compiler puts
//! into the per-instruction line table (used by error messages).

pub type Name = Vec<u8>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    IDiv,
    Mod,
    Pow,
    Concat,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    BAnd,
    BOr,
    BXor,
    Shl,
    Shr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
    Len,
    BNot,
}

#[derive(Debug)]
pub struct Expr {
    pub line: u32,
    pub kind: ExprKind,
}

#[derive(Debug)]
pub enum ExprKind {
    Nil,
    True,
    False,
    Int(i64),
    Num(f64),
    Str(Vec<u8>),
    Vararg,
    Func(Box<FuncBody>),
    Name(Name),
    Index(Box<Expr>, Box<Expr>),
    Call(Box<Expr>, Vec<Expr>),
    Method(Box<Expr>, Name, Vec<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Un(UnOp, Box<Expr>),
    Paren(Box<Expr>),
    Table(Vec<TField>),
}

#[derive(Debug)]
pub enum TField {
    Pos(Expr),
    Named(Expr, Expr),
}

#[derive(Debug)]
pub struct FuncBody {
    pub params: Vec<Name>,
    pub is_vararg: bool,
    pub body: Block,
    pub line: u32,
    pub end_line: u32,
    pub name: String,
}

#[derive(Debug)]
pub struct Block {
    pub stats: Vec<Stat>,
    pub ret: Option<(Vec<Expr>, u32)>,
}

#[derive(Debug)]
pub enum Attrib {
    None,
    Const,
    Close,
}

#[derive(Debug)]
pub struct Stat {
    pub line: u32,
    pub kind: StatKind,
}

#[derive(Debug)]
pub enum StatKind {
    Expr(Expr),
    Local(Vec<(Name, Attrib)>, Vec<Expr>),
    Assign(Vec<Expr>, Vec<Expr>),
    Do(Block),
    While(Expr, Block),
    Repeat(Block, Expr),
    If(Vec<(Expr, Block)>, Option<Block>),
    NumFor(Name, Expr, Expr, Option<Expr>, Block),
    GenFor(Vec<Name>, Vec<Expr>, Block),
    Function(Expr, Box<FuncBody>),
    LocalFunction(Name, Box<FuncBody>),
    Return,
    Break,
    Goto(Name),
    Label(Name),
}
