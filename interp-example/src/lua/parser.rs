//! Stage 2: the parser.
//!
//! A recursive-descent parser with precedence climbing for binary operators,
//! producing the [`ast`](super::ast) tree. Nesting depth is bounded
//! (`MAX_DEPTH`, like lua5.4's `LUAI_MAXCCALLS`), so deeply nested input gets
//! lua5.4's "C stack overflow" error instead of exhausting the native stack.
//! Error messages follow lua5.4 (`chunk:line: 'end' expected (to close
//! 'while' at line 3) near '<eof>'`).

use super::ast::*;
use super::lexer::{token_text, Lexer, Token};

const MAX_DEPTH: u32 = 195;

pub struct Parser<'a> {
    lex: Lexer<'a>,
    tok: Token,
    line: u32,
    ahead: Option<(Token, u32)>,
    chunk: &'a str,
    depth: u32,
    /// Vararg-ness of the functions being parsed (innermost last).
    vararg_stack: Vec<bool>,
}

type PResult<T> = Result<T, String>;

pub fn parse_chunk(src: &[u8], chunk: &str) -> PResult<FuncBody> {
    let mut lex = Lexer::new(src, chunk);
    let tok = lex.next_token()?;
    let line = lex.line;
    let mut p = Parser {
        lex,
        tok,
        line,
        ahead: None,
        chunk,
        depth: 0,
        vararg_stack: vec![true],
    };
    let body = p.block()?;
    if p.tok != Token::Eof {
        return Err(p.err_near("<eof> expected"));
    }
    Ok(FuncBody {
        params: vec![],
        is_vararg: true,
        body,
        line: 0,
        end_line: p.line,
        name: "main chunk".into(),
    })
}

impl<'a> Parser<'a> {
    fn advance(&mut self) -> PResult<()> {
        if let Some((t, l)) = self.ahead.take() {
            self.tok = t;
            self.line = l;
        } else {
            self.tok = self.lex.next_token()?;
            self.line = self.lex.line;
        }
        Ok(())
    }

    fn peek_ahead(&mut self) -> PResult<&Token> {
        if self.ahead.is_none() {
            let t = self.lex.next_token()?;
            self.ahead = Some((t, self.lex.line));
        }
        Ok(&self.ahead.as_ref().unwrap().0)
    }

    fn near(&self) -> String {
        match &self.tok {
            Token::Eof => "<eof>".into(),
            Token::Str(_) | Token::Int(_) | Token::Num(_) => {
                // lua shows the raw token text
                format!("'{}'", self.raw_token_text())
            }
            t => format!("'{}'", token_text(t)),
        }
    }

    fn raw_token_text(&self) -> String {
        match &self.tok {
            Token::Str(s) => String::from_utf8_lossy(s).into_owned(),
            t => token_text(t),
        }
    }

    pub fn err_near(&self, msg: &str) -> String {
        format!("{}:{}: {} near {}", self.chunk, self.line, msg, self.near())
    }

    fn check(&mut self, t: Token, what: &str) -> PResult<()> {
        if self.tok == t {
            self.advance()
        } else {
            Err(self.err_near(&format!("'{}' expected", what)))
        }
    }

    fn check_match(&mut self, t: Token, what: &str, open: &str, line: u32) -> PResult<()> {
        if self.tok == t {
            return self.advance();
        }
        if line == self.line {
            Err(self.err_near(&format!("'{}' expected", what)))
        } else {
            Err(self.err_near(&format!(
                "'{}' expected (to close '{}' at line {})",
                what, open, line
            )))
        }
    }

    fn name(&mut self) -> PResult<Name> {
        if let Token::Name(n) = &self.tok {
            let n = n.clone();
            self.advance()?;
            Ok(n)
        } else {
            Err(self.err_near("<name> expected"))
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("C stack overflow".into());
        }
        Ok(())
    }

    fn block_follow(&self, with_until: bool) -> bool {
        match self.tok {
            Token::Else | Token::Elseif | Token::End | Token::Eof => true,
            Token::Until => with_until,
            _ => false,
        }
    }

    fn block(&mut self) -> PResult<Block> {
        self.enter()?;
        let mut stats = Vec::new();
        let mut ret = None;
        loop {
            if self.block_follow(true) {
                break;
            }
            if self.tok == Token::Return {
                let line = self.line;
                self.advance()?;
                let mut exprs = Vec::new();
                if !self.block_follow(true) && self.tok != Token::Semi {
                    exprs = self.exprlist()?;
                }
                if self.tok == Token::Semi {
                    self.advance()?;
                }
                ret = Some((exprs, line));
                break;
            }
            if let Some(s) = self.statement()? {
                stats.push(s);
            }
        }
        self.depth -= 1;
        Ok(Block { stats, ret })
    }

    fn statement(&mut self) -> PResult<Option<Stat>> {
        let line = self.line;
        let kind = match self.tok {
            Token::Semi => {
                self.advance()?;
                return Ok(None);
            }
            Token::If => {
                self.advance()?;
                let mut arms = Vec::new();
                let cond = self.expr()?;
                self.check(Token::Then, "then")?;
                let b = self.block()?;
                arms.push((cond, b));
                let mut els = None;
                loop {
                    match self.tok {
                        Token::Elseif => {
                            self.advance()?;
                            let c = self.expr()?;
                            self.check(Token::Then, "then")?;
                            let b = self.block()?;
                            arms.push((c, b));
                        }
                        Token::Else => {
                            self.advance()?;
                            els = Some(self.block()?);
                            self.check_match(Token::End, "end", "if", line)?;
                            break;
                        }
                        _ => {
                            self.check_match(Token::End, "end", "if", line)?;
                            break;
                        }
                    }
                }
                StatKind::If(arms, els)
            }
            Token::While => {
                self.advance()?;
                let cond = self.expr()?;
                self.check(Token::Do, "do")?;
                let b = self.block()?;
                self.check_match(Token::End, "end", "while", line)?;
                StatKind::While(cond, b)
            }
            Token::Do => {
                self.advance()?;
                let b = self.block()?;
                self.check_match(Token::End, "end", "do", line)?;
                StatKind::Do(b)
            }
            Token::For => {
                self.advance()?;
                let n1 = self.name()?;
                match self.tok {
                    Token::Assign => {
                        self.advance()?;
                        let start = self.expr()?;
                        self.check(Token::Comma, ",")?;
                        let limit = self.expr()?;
                        let step = if self.tok == Token::Comma {
                            self.advance()?;
                            Some(self.expr()?)
                        } else {
                            None
                        };
                        self.check(Token::Do, "do")?;
                        let b = self.block()?;
                        self.check_match(Token::End, "end", "for", line)?;
                        StatKind::NumFor(n1, start, limit, step, b)
                    }
                    Token::Comma | Token::In => {
                        let mut names = vec![n1];
                        while self.tok == Token::Comma {
                            self.advance()?;
                            names.push(self.name()?);
                        }
                        self.check(Token::In, "in")?;
                        let exprs = self.exprlist()?;
                        self.check(Token::Do, "do")?;
                        let b = self.block()?;
                        self.check_match(Token::End, "end", "for", line)?;
                        StatKind::GenFor(names, exprs, b)
                    }
                    _ => return Err(self.err_near("'=' or 'in' expected")),
                }
            }
            Token::Repeat => {
                self.advance()?;
                let b = self.block()?;
                self.check_match(Token::Until, "until", "repeat", line)?;
                let cond = self.expr()?;
                StatKind::Repeat(b, cond)
            }
            Token::Function => {
                self.advance()?;
                // funcname: Name {'.' Name} [':' Name]
                let nline = self.line;
                let n = self.name()?;
                let mut full = String::from_utf8_lossy(&n).into_owned();
                let mut target = Expr {
                    line: nline,
                    kind: ExprKind::Name(n),
                };
                let mut is_method = false;
                while self.tok == Token::Dot || self.tok == Token::Colon {
                    let colon = self.tok == Token::Colon;
                    self.advance()?;
                    let kl = self.line;
                    let k = self.name()?;
                    full.push(if colon { ':' } else { '.' });
                    full.push_str(&String::from_utf8_lossy(&k));
                    target = Expr {
                        line: kl,
                        kind: ExprKind::Index(
                            Box::new(target),
                            Box::new(Expr {
                                line: kl,
                                kind: ExprKind::Str(k),
                            }),
                        ),
                    };
                    if colon {
                        is_method = true;
                        break;
                    }
                }
                let mut body = self.funcbody(line, is_method)?;
                body.name = full;
                StatKind::Function(target, Box::new(body))
            }
            Token::Local => {
                self.advance()?;
                if self.tok == Token::Function {
                    self.advance()?;
                    let n = self.name()?;
                    let mut body = self.funcbody(line, false)?;
                    body.name = String::from_utf8_lossy(&n).into_owned();
                    StatKind::LocalFunction(n, Box::new(body))
                } else {
                    let mut names = Vec::new();
                    loop {
                        let n = self.name()?;
                        let attr = if self.tok == Token::Lt {
                            self.advance()?;
                            let a = self.name()?;
                            self.check(Token::Gt, ">")?;
                            match &a[..] {
                                b"const" => Attrib::Const,
                                b"close" => Attrib::Close,
                                _ => {
                                    return Err(format!(
                                        "{}:{}: unknown attribute '{}'",
                                        self.chunk,
                                        self.line,
                                        String::from_utf8_lossy(&a)
                                    ))
                                }
                            }
                        } else {
                            Attrib::None
                        };
                        names.push((n, attr));
                        if self.tok != Token::Comma {
                            break;
                        }
                        self.advance()?;
                    }
                    let exprs = if self.tok == Token::Assign {
                        self.advance()?;
                        self.exprlist()?
                    } else {
                        vec![]
                    };
                    StatKind::Local(names, exprs)
                }
            }
            Token::DColon => {
                self.advance()?;
                let n = self.name()?;
                self.check(Token::DColon, "::")?;
                StatKind::Label(n)
            }
            Token::Return => unreachable!(),
            Token::Break => {
                self.advance()?;
                StatKind::Break
            }
            Token::Goto => {
                self.advance()?;
                let n = self.name()?;
                StatKind::Goto(n)
            }
            _ => {
                let e = self.suffixedexp()?;
                if self.tok == Token::Assign || self.tok == Token::Comma {
                    let mut targets = vec![e];
                    while self.tok == Token::Comma {
                        self.advance()?;
                        targets.push(self.suffixedexp()?);
                    }
                    for t in &targets {
                        if !matches!(t.kind, ExprKind::Name(_) | ExprKind::Index(..)) {
                            return Err(self.err_near("syntax error"));
                        }
                    }
                    self.check(Token::Assign, "=")?;
                    let exprs = self.exprlist()?;
                    StatKind::Assign(targets, exprs)
                } else {
                    if !matches!(e.kind, ExprKind::Call(..) | ExprKind::Method(..)) {
                        return Err(self.err_near("syntax error"));
                    }
                    StatKind::Expr(e)
                }
            }
        };
        Ok(Some(Stat { line, kind }))
    }

    fn funcbody(&mut self, line: u32, is_method: bool) -> PResult<FuncBody> {
        self.enter()?;
        let mut params = Vec::new();
        if is_method {
            params.push(b"self".to_vec());
        }
        let mut is_vararg = false;
        self.check(Token::LParen, "(")?;
        if self.tok != Token::RParen {
            loop {
                match &self.tok {
                    Token::Name(n) => {
                        params.push(n.clone());
                        self.advance()?;
                    }
                    Token::Dots => {
                        is_vararg = true;
                        self.advance()?;
                        break;
                    }
                    _ => return Err(self.err_near("<name> expected")),
                }
                if self.tok != Token::Comma {
                    break;
                }
                self.advance()?;
            }
        }
        self.check(Token::RParen, ")")?;
        self.vararg_stack.push(is_vararg);
        let body = self.block()?;
        self.vararg_stack.pop();
        let end_line = self.line;
        self.check_match(Token::End, "end", "function", line)?;
        self.depth -= 1;
        Ok(FuncBody {
            params,
            is_vararg,
            body,
            line,
            end_line,
            name: String::new(),
        })
    }

    fn exprlist(&mut self) -> PResult<Vec<Expr>> {
        let mut v = vec![self.expr()?];
        while self.tok == Token::Comma {
            self.advance()?;
            v.push(self.expr()?);
        }
        Ok(v)
    }

    pub fn expr(&mut self) -> PResult<Expr> {
        self.subexpr(0)
    }

    fn binop(&self) -> Option<(BinOp, u8, u8)> {
        Some(match self.tok {
            Token::Or => (BinOp::Or, 1, 1),
            Token::And => (BinOp::And, 2, 2),
            Token::Lt => (BinOp::Lt, 3, 3),
            Token::Gt => (BinOp::Gt, 3, 3),
            Token::Le => (BinOp::Le, 3, 3),
            Token::Ge => (BinOp::Ge, 3, 3),
            Token::Ne => (BinOp::Ne, 3, 3),
            Token::Eq => (BinOp::Eq, 3, 3),
            Token::Pipe => (BinOp::BOr, 4, 4),
            Token::Tilde => (BinOp::BXor, 5, 5),
            Token::Amp => (BinOp::BAnd, 6, 6),
            Token::Shl => (BinOp::Shl, 7, 7),
            Token::Shr => (BinOp::Shr, 7, 7),
            Token::Concat => (BinOp::Concat, 9, 8),
            Token::Plus => (BinOp::Add, 10, 10),
            Token::Minus => (BinOp::Sub, 10, 10),
            Token::Star => (BinOp::Mul, 11, 11),
            Token::Slash => (BinOp::Div, 11, 11),
            Token::DSlash => (BinOp::IDiv, 11, 11),
            Token::Percent => (BinOp::Mod, 11, 11),
            Token::Caret => (BinOp::Pow, 14, 13),
            _ => return None,
        })
    }

    fn subexpr(&mut self, limit: u8) -> PResult<Expr> {
        self.enter()?;
        let line = self.line;
        let unop = match self.tok {
            Token::Not => Some(UnOp::Not),
            Token::Minus => Some(UnOp::Neg),
            Token::Hash => Some(UnOp::Len),
            Token::Tilde => Some(UnOp::BNot),
            _ => None,
        };
        let mut left = if let Some(op) = unop {
            self.advance()?;
            let e = self.subexpr(12)?;
            fold_unop(op, e, line)
        } else {
            self.simpleexp()?
        };
        let mut chain = 0u32;
        while let Some((op, lp, rp)) = self.binop() {
            if lp <= limit {
                break;
            }
            // left-nested chains make the AST (and the compiler's recursion
            // over it) deep without parser recursion: bound them
            chain += 1;
            if chain > 20_000 {
                return Err("C stack overflow".into());
            }
            let line = self.line;
            self.advance()?;
            let right = self.subexpr(rp)?;
            left = fold_binop(op, left, right, line);
        }
        self.depth -= 1;
        Ok(left)
    }

    fn simpleexp(&mut self) -> PResult<Expr> {
        let line = self.line;
        let kind = match &self.tok {
            Token::Int(i) => ExprKind::Int(*i),
            Token::Num(n) => ExprKind::Num(*n),
            Token::Str(s) => ExprKind::Str(s.clone()),
            Token::Nil => ExprKind::Nil,
            Token::True => ExprKind::True,
            Token::False => ExprKind::False,
            Token::Dots => {
                if !*self.vararg_stack.last().unwrap() {
                    return Err(self.err_near("cannot use '...' outside a vararg function"));
                }
                ExprKind::Vararg
            }
            Token::LBrace => return self.table(),
            Token::Function => {
                self.advance()?;
                let b = self.funcbody(line, false)?;
                return Ok(Expr {
                    line,
                    kind: ExprKind::Func(Box::new(b)),
                });
            }
            _ => return self.suffixedexp(),
        };
        self.advance()?;
        Ok(Expr { line, kind })
    }

    fn primaryexp(&mut self) -> PResult<Expr> {
        let line = self.line;
        match &self.tok {
            Token::Name(n) => {
                let n = n.clone();
                self.advance()?;
                Ok(Expr {
                    line,
                    kind: ExprKind::Name(n),
                })
            }
            Token::LParen => {
                self.advance()?;
                let e = self.expr()?;
                self.check_match(Token::RParen, ")", "(", line)?;
                Ok(Expr {
                    line,
                    kind: ExprKind::Paren(Box::new(e)),
                })
            }
            _ => Err(self.err_near("unexpected symbol")),
        }
    }

    fn suffixedexp(&mut self) -> PResult<Expr> {
        self.enter()?;
        let mut e = self.primaryexp()?;
        let mut n = 0;
        loop {
            n += 1;
            if n > 20_000 {
                // bounded chains keep the compiler's recursion bounded too
                return Err("C stack overflow".into());
            }
            let line = self.line;
            match self.tok {
                Token::Dot => {
                    self.advance()?;
                    let k = self.name()?;
                    e = Expr {
                        line,
                        kind: ExprKind::Index(
                            Box::new(e),
                            Box::new(Expr {
                                line,
                                kind: ExprKind::Str(k),
                            }),
                        ),
                    };
                }
                Token::LBracket => {
                    self.advance()?;
                    let k = self.expr()?;
                    self.check(Token::RBracket, "]")?;
                    e = Expr {
                        line,
                        kind: ExprKind::Index(Box::new(e), Box::new(k)),
                    };
                }
                Token::Colon => {
                    self.advance()?;
                    let m = self.name()?;
                    let args = self.callargs()?;
                    e = Expr {
                        line,
                        kind: ExprKind::Method(Box::new(e), m, args),
                    };
                }
                Token::LParen | Token::Str(_) | Token::LBrace => {
                    let args = self.callargs()?;
                    e = Expr {
                        line,
                        kind: ExprKind::Call(Box::new(e), args),
                    };
                }
                _ => break,
            }
        }
        self.depth -= 1;
        Ok(e)
    }

    fn callargs(&mut self) -> PResult<Vec<Expr>> {
        let line = self.line;
        match &self.tok {
            Token::Str(s) => {
                let e = Expr {
                    line,
                    kind: ExprKind::Str(s.clone()),
                };
                self.advance()?;
                Ok(vec![e])
            }
            Token::LBrace => Ok(vec![self.table()?]),
            Token::LParen => {
                self.advance()?;
                if self.tok == Token::RParen {
                    self.advance()?;
                    return Ok(vec![]);
                }
                let args = self.exprlist()?;
                self.check_match(Token::RParen, ")", "(", line)?;
                Ok(args)
            }
            _ => Err(self.err_near("function arguments expected")),
        }
    }

    fn table(&mut self) -> PResult<Expr> {
        let line = self.line;
        self.check(Token::LBrace, "{")?;
        let mut fields = Vec::new();
        loop {
            if self.tok == Token::RBrace {
                break;
            }
            match self.tok.clone() {
                Token::Name(n) => {
                    if self.peek_ahead()? == &Token::Assign {
                        let kl = self.line;
                        let k = Expr {
                            line: kl,
                            kind: ExprKind::Str(n),
                        };
                        self.advance()?;
                        self.advance()?;
                        let v = self.expr()?;
                        fields.push(TField::Named(k, v));
                    } else {
                        fields.push(TField::Pos(self.expr()?));
                    }
                }
                Token::LBracket => {
                    self.advance()?;
                    let k = self.expr()?;
                    self.check(Token::RBracket, "]")?;
                    self.check(Token::Assign, "=")?;
                    let v = self.expr()?;
                    fields.push(TField::Named(k, v));
                }
                _ => fields.push(TField::Pos(self.expr()?)),
            }
            if self.tok == Token::Comma || self.tok == Token::Semi {
                self.advance()?;
            } else {
                break;
            }
        }
        self.check_match(Token::RBrace, "}", "{", line)?;
        Ok(Expr {
            line,
            kind: ExprKind::Table(fields),
        })
    }
}

/// Constant folding of numeric unary minus on literals (so `-1` is a
/// constant, as in luac) — other ops are left to run time.
fn fold_unop(op: UnOp, e: Expr, line: u32) -> Expr {
    if op == UnOp::Neg {
        match e.kind {
            ExprKind::Int(i) => {
                return Expr {
                    line,
                    kind: ExprKind::Int(i.wrapping_neg()),
                }
            }
            ExprKind::Num(n) => {
                return Expr {
                    line,
                    kind: ExprKind::Num(-n),
                }
            }
            _ => {}
        }
    }
    Expr {
        line,
        kind: ExprKind::Un(op, Box::new(e)),
    }
}

fn fold_binop(op: BinOp, l: Expr, r: Expr, line: u32) -> Expr {
    Expr {
        line,
        kind: ExprKind::Bin(op, Box::new(l), Box::new(r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn syntax_errors() {
        assert_eq!(
            parse_chunk(b"x = = 1", "t").unwrap_err(),
            "t:1: unexpected symbol near '='"
        );
        assert_eq!(
            parse_chunk(b"x = 1 +", "t").unwrap_err(),
            "t:1: unexpected symbol near <eof>"
        );
        assert_eq!(
            parse_chunk(b"while true do\n\n", "t").unwrap_err(),
            "t:3: 'end' expected (to close 'while' at line 1) near <eof>"
        );
        let deep = format!("x = {}1{}", "(".repeat(300), ")".repeat(300));
        assert_eq!(
            parse_chunk(deep.as_bytes(), "t").unwrap_err(),
            "C stack overflow"
        );
    }
}
