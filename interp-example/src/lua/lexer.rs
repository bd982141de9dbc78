//! Stage 1: the lexer.
//!
//! Turns the raw bytes of a chunk into [`Token`]s with line numbers. Lua
//! source is a byte string (not necessarily UTF-8), so the lexer works on
//! `&[u8]` and string literals produce `Vec<u8>`. It handles every Lua 5.4
//! token: long brackets (`[==[ ... ]==]`) for strings and comments, all
//! escapes (`\x`, `\z`, `\u{...}`, `\ddd`, line continuations), and numerals
//! including hexadecimal floats with binary exponents. Errors use lua5.4's
//! wording (`chunk:line: malformed number near '3x'`).

use super::numparse;

#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    Eof,
    Name(Vec<u8>),
    Str(Vec<u8>),
    Int(i64),
    Num(f64),
    // keywords
    And,
    Break,
    Do,
    Else,
    Elseif,
    End,
    False,
    For,
    Function,
    Goto,
    If,
    In,
    Local,
    Nil,
    Not,
    Or,
    Repeat,
    Return,
    Then,
    True,
    Until,
    While,
    // symbols
    Plus,
    Minus,
    Star,
    Slash,
    DSlash,
    Percent,
    Caret,
    Hash,
    Amp,
    Tilde,
    Pipe,
    Shl,
    Shr,
    Eq,
    Ne,
    Le,
    Ge,
    Lt,
    Gt,
    Assign,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    DColon,
    Semi,
    Colon,
    Comma,
    Dot,
    Concat,
    Dots,
}

fn keyword(s: &[u8]) -> Option<Token> {
    Some(match s {
        b"and" => Token::And,
        b"break" => Token::Break,
        b"do" => Token::Do,
        b"else" => Token::Else,
        b"elseif" => Token::Elseif,
        b"end" => Token::End,
        b"false" => Token::False,
        b"for" => Token::For,
        b"function" => Token::Function,
        b"goto" => Token::Goto,
        b"if" => Token::If,
        b"in" => Token::In,
        b"local" => Token::Local,
        b"nil" => Token::Nil,
        b"not" => Token::Not,
        b"or" => Token::Or,
        b"repeat" => Token::Repeat,
        b"return" => Token::Return,
        b"then" => Token::Then,
        b"true" => Token::True,
        b"until" => Token::Until,
        b"while" => Token::While,
        _ => return None,
    })
}

/// How a token is shown in `near '...'` parts of syntax errors.
pub fn token_text(t: &Token) -> String {
    let s: &str = match t {
        Token::Eof => return "<eof>".into(),
        Token::Name(n) => return String::from_utf8_lossy(n).into_owned(),
        Token::Str(s) => return String::from_utf8_lossy(s).into_owned(),
        Token::Int(i) => return i.to_string(),
        Token::Num(n) => return super::value::fmt_float(*n),
        Token::And => "and",
        Token::Break => "break",
        Token::Do => "do",
        Token::Else => "else",
        Token::Elseif => "elseif",
        Token::End => "end",
        Token::False => "false",
        Token::For => "for",
        Token::Function => "function",
        Token::Goto => "goto",
        Token::If => "if",
        Token::In => "in",
        Token::Local => "local",
        Token::Nil => "nil",
        Token::Not => "not",
        Token::Or => "or",
        Token::Repeat => "repeat",
        Token::Return => "return",
        Token::Then => "then",
        Token::True => "true",
        Token::Until => "until",
        Token::While => "while",
        Token::Plus => "+",
        Token::Minus => "-",
        Token::Star => "*",
        Token::Slash => "/",
        Token::DSlash => "//",
        Token::Percent => "%",
        Token::Caret => "^",
        Token::Hash => "#",
        Token::Amp => "&",
        Token::Tilde => "~",
        Token::Pipe => "|",
        Token::Shl => "<<",
        Token::Shr => ">>",
        Token::Eq => "==",
        Token::Ne => "~=",
        Token::Le => "<=",
        Token::Ge => ">=",
        Token::Lt => "<",
        Token::Gt => ">",
        Token::Assign => "=",
        Token::LParen => "(",
        Token::RParen => ")",
        Token::LBrace => "{",
        Token::RBrace => "}",
        Token::LBracket => "[",
        Token::RBracket => "]",
        Token::DColon => "::",
        Token::Semi => ";",
        Token::Colon => ":",
        Token::Comma => ",",
        Token::Dot => ".",
        Token::Concat => "..",
        Token::Dots => "...",
    };
    s.to_string()
}

pub struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    pub line: u32,
    chunk: &'a str,
    /// Raw text of the last token (for `near '...'`).
    pub tok_start: usize,
}

pub type LexResult<T> = Result<T, String>;

impl<'a> Lexer<'a> {
    pub fn new(src: &'a [u8], chunk: &'a str) -> Self {
        let mut pos = 0;
        // skip a first line starting with '#'
        if src.first() == Some(&b'#') {
            while pos < src.len() && src[pos] != b'\n' {
                pos += 1;
            }
        }
        Lexer {
            src,
            pos,
            line: 1,
            chunk,
            tok_start: 0,
        }
    }

    fn peekc(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }
    fn peek2(&self) -> Option<u8> {
        self.src.get(self.pos + 1).copied()
    }

    fn err(&self, msg: &str, near: Option<String>) -> String {
        match near {
            Some(n) => format!("{}:{}: {} near '{}'", self.chunk, self.line, msg, n),
            None => format!("{}:{}: {} near <eof>", self.chunk, self.line, msg),
        }
    }

    fn near_current(&self) -> Option<String> {
        let end = self.pos.min(self.src.len());
        Some(String::from_utf8_lossy(&self.src[self.tok_start..end]).into_owned())
    }

    /// Consumes a newline sequence (\n, \r, \n\r or \r\n).
    fn newline(&mut self) {
        let c = self.src[self.pos];
        self.pos += 1;
        if let Some(d) = self.peekc() {
            if (d == b'\n' || d == b'\r') && d != c {
                self.pos += 1;
            }
        }
        self.line += 1;
    }

    pub fn next_token(&mut self) -> LexResult<Token> {
        loop {
            self.tok_start = self.pos;
            let c = match self.peekc() {
                None => return Ok(Token::Eof),
                Some(c) => c,
            };
            match c {
                b'\n' | b'\r' => {
                    self.newline();
                }
                b' ' | b'\t' | 0x0b | 0x0c => self.pos += 1,
                b'-' => {
                    if self.peek2() != Some(b'-') {
                        self.pos += 1;
                        return Ok(Token::Minus);
                    }
                    self.pos += 2;
                    if self.peekc() == Some(b'[') {
                        if let Some(level) = self.long_bracket_level() {
                            self.read_long(level, true)?;
                            continue;
                        }
                    }
                    while let Some(c) = self.peekc() {
                        if c == b'\n' || c == b'\r' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                b'[' => {
                    if let Some(level) = self.long_bracket_level() {
                        let s = self.read_long(level, false)?;
                        return Ok(Token::Str(s));
                    }
                    if self.peek2() == Some(b'=') {
                        let mut p = self.pos + 1;
                        while self.src.get(p) == Some(&b'=') {
                            p += 1;
                        }
                        self.pos = p;
                        return Err(self.err("invalid long string delimiter", self.near_current()));
                    }
                    self.pos += 1;
                    return Ok(Token::LBracket);
                }
                b'=' => return Ok(self.two(b'=', Token::Eq, Token::Assign)),
                b'<' => {
                    self.pos += 1;
                    match self.peekc() {
                        Some(b'=') => {
                            self.pos += 1;
                            return Ok(Token::Le);
                        }
                        Some(b'<') => {
                            self.pos += 1;
                            return Ok(Token::Shl);
                        }
                        _ => return Ok(Token::Lt),
                    }
                }
                b'>' => {
                    self.pos += 1;
                    match self.peekc() {
                        Some(b'=') => {
                            self.pos += 1;
                            return Ok(Token::Ge);
                        }
                        Some(b'>') => {
                            self.pos += 1;
                            return Ok(Token::Shr);
                        }
                        _ => return Ok(Token::Gt),
                    }
                }
                b'/' => return Ok(self.two(b'/', Token::DSlash, Token::Slash)),
                b'~' => return Ok(self.two(b'=', Token::Ne, Token::Tilde)),
                b':' => return Ok(self.two(b':', Token::DColon, Token::Colon)),
                b'"' | b'\'' => return self.read_string(c),
                b'.' => {
                    if self.peek2() == Some(b'.') {
                        if self.src.get(self.pos + 2) == Some(&b'.') {
                            self.pos += 3;
                            return Ok(Token::Dots);
                        }
                        self.pos += 2;
                        return Ok(Token::Concat);
                    }
                    if self.peek2().is_some_and(|d| d.is_ascii_digit()) {
                        return self.read_numeral();
                    }
                    self.pos += 1;
                    return Ok(Token::Dot);
                }
                b'0'..=b'9' => return self.read_numeral(),
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let start = self.pos;
                    while self
                        .peekc()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                    {
                        self.pos += 1;
                    }
                    let s = &self.src[start..self.pos];
                    return Ok(keyword(s).unwrap_or_else(|| Token::Name(s.to_vec())));
                }
                _ => {
                    self.pos += 1;
                    let t = match c {
                        b'+' => Token::Plus,
                        b'*' => Token::Star,
                        b'%' => Token::Percent,
                        b'^' => Token::Caret,
                        b'#' => Token::Hash,
                        b'&' => Token::Amp,
                        b'|' => Token::Pipe,
                        b'(' => Token::LParen,
                        b')' => Token::RParen,
                        b'{' => Token::LBrace,
                        b'}' => Token::RBrace,
                        b']' => Token::RBracket,
                        b';' => Token::Semi,
                        b',' => Token::Comma,
                        _ => {
                            if c == 0 {
                                // lua5.4 shows no token text for a NUL byte
                                return Err(format!(
                                    "{}:{}: unexpected symbol",
                                    self.chunk, self.line
                                ));
                            }
                            let near = if c.is_ascii_graphic() {
                                (c as char).to_string()
                            } else {
                                format!("<\\{}>", c)
                            };
                            return Err(self.err("unexpected symbol", Some(near)));
                        }
                    };
                    return Ok(t);
                }
            }
        }
    }

    fn two(&mut self, second: u8, yes: Token, no: Token) -> Token {
        self.pos += 1;
        if self.peekc() == Some(second) {
            self.pos += 1;
            yes
        } else {
            no
        }
    }

    /// At '[': returns the level if this starts a long bracket, consuming it.
    fn long_bracket_level(&mut self) -> Option<usize> {
        let mut p = self.pos + 1;
        let mut level = 0;
        while self.src.get(p) == Some(&b'=') {
            level += 1;
            p += 1;
        }
        if self.src.get(p) == Some(&b'[') {
            self.pos = p + 1;
            Some(level)
        } else {
            if level > 0 {
                // "[=" without second bracket: invalid long string delimiter
                // (reported by the caller as a normal '[' otherwise)
            }
            None
        }
    }

    fn read_long(&mut self, level: usize, comment: bool) -> LexResult<Vec<u8>> {
        let mut out = Vec::new();
        let start_line = self.line;
        // skip first newline
        if matches!(self.peekc(), Some(b'\n') | Some(b'\r')) {
            self.newline();
        }
        loop {
            match self.peekc() {
                None => {
                    let what = if comment {
                        "unfinished long comment"
                    } else {
                        "unfinished long string"
                    };
                    let msg = format!("{} (starting at line {})", what, start_line);
                    return Err(self.err(&msg, None));
                }
                Some(b']') => {
                    let mut p = self.pos + 1;
                    let mut l = 0;
                    while self.src.get(p) == Some(&b'=') {
                        l += 1;
                        p += 1;
                    }
                    if l == level && self.src.get(p) == Some(&b']') {
                        self.pos = p + 1;
                        return Ok(out);
                    }
                    out.push(b']');
                    self.pos += 1;
                }
                Some(b'\n') | Some(b'\r') => {
                    out.push(b'\n');
                    self.newline();
                }
                Some(c) => {
                    if !comment {
                        out.push(c);
                    }
                    self.pos += 1;
                }
            }
        }
    }

    fn read_string(&mut self, delim: u8) -> LexResult<Token> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let c = match self.peekc() {
                None => return Err(self.err("unfinished string", None)),
                Some(c) => c,
            };
            match c {
                b'\n' | b'\r' => return Err(self.err("unfinished string", self.near_current())),
                b'\\' => {
                    self.pos += 1;
                    let e = match self.peekc() {
                        None => return Err(self.err("unfinished string", None)),
                        Some(e) => e,
                    };
                    match e {
                        b'n' => {
                            out.push(b'\n');
                            self.pos += 1
                        }
                        b't' => {
                            out.push(b'\t');
                            self.pos += 1
                        }
                        b'a' => {
                            out.push(7);
                            self.pos += 1
                        }
                        b'b' => {
                            out.push(8);
                            self.pos += 1
                        }
                        b'f' => {
                            out.push(12);
                            self.pos += 1
                        }
                        b'r' => {
                            out.push(b'\r');
                            self.pos += 1
                        }
                        b'v' => {
                            out.push(11);
                            self.pos += 1
                        }
                        b'\\' | b'"' | b'\'' => {
                            out.push(e);
                            self.pos += 1
                        }
                        b'\n' | b'\r' => {
                            out.push(b'\n');
                            self.newline();
                        }
                        b'x' => {
                            self.pos += 1;
                            let mut v = 0u8;
                            for _ in 0..2 {
                                match self.peekc() {
                                    Some(h) if h.is_ascii_hexdigit() => {
                                        v = v * 16 + (h as char).to_digit(16).unwrap() as u8;
                                        self.pos += 1;
                                    }
                                    _ => {
                                        if self.peekc().is_some() {
                                            self.pos += 1;
                                        }
                                        return Err(self.err(
                                            "hexadecimal digit expected",
                                            self.near_current(),
                                        ));
                                    }
                                }
                            }
                            out.push(v);
                        }
                        b'z' => {
                            self.pos += 1;
                            while let Some(c) = self.peekc() {
                                if c == b'\n' || c == b'\r' {
                                    self.newline();
                                } else if c.is_ascii_whitespace() || c == 0x0b {
                                    self.pos += 1;
                                } else {
                                    break;
                                }
                            }
                        }
                        b'u' => {
                            self.pos += 1;
                            if self.peekc() != Some(b'{') {
                                if self.peekc().is_some() {
                                    self.pos += 1;
                                }
                                return Err(
                                    self.err("missing '{' in \\u{xxxx}", self.near_current())
                                );
                            }
                            self.pos += 1;
                            let mut v: u64 = 0;
                            let mut n = 0;
                            loop {
                                match self.peekc() {
                                    Some(h) if h.is_ascii_hexdigit() => {
                                        v = v * 16 + (h as char).to_digit(16).unwrap() as u64;
                                        n += 1;
                                        self.pos += 1;
                                        if v > 0x7FFF_FFFF {
                                            return Err(self.err(
                                                "UTF-8 value too large",
                                                self.near_current(),
                                            ));
                                        }
                                    }
                                    Some(b'}') if n > 0 => {
                                        self.pos += 1;
                                        break;
                                    }
                                    _ => {
                                        if self.peekc().is_some() {
                                            self.pos += 1;
                                        }
                                        let msg = if n == 0 {
                                            "hexadecimal digit expected"
                                        } else {
                                            "missing '}' in \\u{xxxx}"
                                        };
                                        return Err(self.err(msg, self.near_current()));
                                    }
                                }
                            }
                            utf8_encode(v as u32, &mut out);
                        }
                        b'0'..=b'9' => {
                            let mut v: u32 = 0;
                            let mut n = 0;
                            while n < 3 {
                                match self.peekc() {
                                    Some(d) if d.is_ascii_digit() => {
                                        v = v * 10 + (d - b'0') as u32;
                                        self.pos += 1;
                                        n += 1;
                                    }
                                    _ => break,
                                }
                            }
                            if v > 255 {
                                if self.peekc().is_some() {
                                    self.pos += 1;
                                }
                                return Err(
                                    self.err("decimal escape too large", self.near_current())
                                );
                            }
                            out.push(v as u8);
                        }
                        _ => {
                            self.pos += 1;
                            return Err(self.err("invalid escape sequence", self.near_current()));
                        }
                    }
                }
                c if c == delim => {
                    self.pos += 1;
                    return Ok(Token::Str(out));
                }
                c => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn read_numeral(&mut self) -> LexResult<Token> {
        let start = self.pos;
        let mut expo = (b'e', b'E');
        if self.peekc() == Some(b'0') && matches!(self.peek2(), Some(b'x') | Some(b'X')) {
            self.pos += 2;
            expo = (b'p', b'P');
        }
        loop {
            match self.peekc() {
                Some(c) if c == expo.0 || c == expo.1 => {
                    self.pos += 1;
                    if matches!(self.peekc(), Some(b'+') | Some(b'-')) {
                        self.pos += 1;
                    }
                }
                Some(c) if c.is_ascii_hexdigit() || c == b'.' => self.pos += 1,
                _ => break,
            }
        }
        // lua reads any following alnum chars as part of the (malformed) numeral
        while self
            .peekc()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.pos += 1;
        }
        let text = &self.src[start..self.pos];
        match numparse::str_to_number(text) {
            Some(super::value::Value::Int(i)) => Ok(Token::Int(i)),
            Some(super::value::Value::Num(f)) => Ok(Token::Num(f)),
            _ => Err(self.err(
                "malformed number",
                Some(String::from_utf8_lossy(text).into_owned()),
            )),
        }
    }
}

pub fn utf8_encode(v: u32, out: &mut Vec<u8>) {
    if v < 0x80 {
        out.push(v as u8);
    } else if v < 0x800 {
        out.push(0xC0 | (v >> 6) as u8);
        out.push(0x80 | (v & 0x3F) as u8);
    } else if v < 0x10000 {
        out.push(0xE0 | (v >> 12) as u8);
        out.push(0x80 | ((v >> 6) & 0x3F) as u8);
        out.push(0x80 | (v & 0x3F) as u8);
    } else if v < 0x200000 {
        out.push(0xF0 | (v >> 18) as u8);
        out.push(0x80 | ((v >> 12) & 0x3F) as u8);
        out.push(0x80 | ((v >> 6) & 0x3F) as u8);
        out.push(0x80 | (v & 0x3F) as u8);
    } else if v < 0x4000000 {
        out.push(0xF8 | (v >> 24) as u8);
        out.push(0x80 | ((v >> 18) & 0x3F) as u8);
        out.push(0x80 | ((v >> 12) & 0x3F) as u8);
        out.push(0x80 | ((v >> 6) & 0x3F) as u8);
        out.push(0x80 | (v & 0x3F) as u8);
    } else {
        out.push(0xFC | (v >> 30) as u8);
        out.push(0x80 | ((v >> 24) & 0x3F) as u8);
        out.push(0x80 | ((v >> 18) & 0x3F) as u8);
        out.push(0x80 | ((v >> 12) & 0x3F) as u8);
        out.push(0x80 | ((v >> 6) & 0x3F) as u8);
        out.push(0x80 | (v & 0x3F) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn toks(s: &str) -> Vec<Token> {
        let mut l = Lexer::new(s.as_bytes(), "t");
        let mut v = vec![];
        loop {
            let t = l.next_token().unwrap();
            if t == Token::Eof {
                return v;
            }
            v.push(t);
        }
    }
    #[test]
    fn basics() {
        assert_eq!(
            toks("a = 0x10 + 1.5e1 -- c\n"),
            vec![
                Token::Name(b"a".to_vec()),
                Token::Assign,
                Token::Int(16),
                Token::Plus,
                Token::Num(15.0)
            ]
        );
        assert_eq!(
            toks(r#""\x41\65\u{48}\z   b""#),
            vec![Token::Str(b"AAHb".to_vec())]
        );
        assert_eq!(toks("[==[\nx]]y]==]"), vec![Token::Str(b"x]]y".to_vec())]);
        assert_eq!(
            toks("0x1p4 0xA.8p0"),
            vec![Token::Num(16.0), Token::Num(10.5)]
        );
        assert_eq!(
            toks("--[[ long\n comment ]] x"),
            vec![Token::Name(b"x".to_vec())]
        );
    }
    #[test]
    fn errors() {
        let mut l = Lexer::new(b"x = 3x", "t");
        let e = loop {
            match l.next_token() {
                Err(e) => break e,
                Ok(Token::Eof) => panic!(),
                _ => {}
            }
        };
        assert_eq!(e, "t:1: malformed number near '3x'");
    }
}
