//! Lua 5.4 pattern matching over byte strings.
//!
//! # What
//!
//! This module implements the pattern language used by `string.find`,
//! `string.match`, `string.gmatch` and `string.gsub`: single-character classes
//! (`.`, `%a`, `%d`, ... and their upper-case complements), bracket sets with
//! ranges, quantifiers `* + - ?`, the anchors `^`/`$`, captures (including
//! position captures `()`), back-references `%1`..`%9`, balanced matches `%b`
//! and frontier patterns `%f[set]`.  It also provides the string-level
//! drivers those four library functions need (init handling, the "plain"
//! fast path, gmatch's "last match" rule and gsub's string replacement).
//!
//! # Why this approach
//!
//! Lua's matcher is a small backtracking interpreter that works directly on
//! the pattern text.  Many of its observable behaviours are consequences of
//! that structure rather than of a specification: errors in a pattern are only
//! reported when the matcher actually reaches the malformed piece (so
//! `string.find("abc", "x%")` returns nil instead of failing), back-references
//! to position captures never match, the pattern `[]]` is a set containing `]`,
//! and a pattern that backtracks too deeply fails with "pattern too complex".
//! To reproduce those details exactly we use the same backtracking structure
//! (interpret the pattern in place, no compilation step), with bounds-checked
//! byte access in which reading past the end of the pattern yields `0` — the
//! value C Lua sees from the terminating NUL of its strings.  Recursion depth
//! is bounded by [`MAX_MATCH_DEPTH`] (Lua's `MAXCCALLS`), which also keeps the
//! Rust stack safe on any input.
//!
//! Positions handed in and out are 0-based byte offsets unless documented
//! otherwise; position captures report Lua's 1-based position.  Error values
//! are the exact message texts lua5.4 raises (without position prefix).

/// Maximum number of captures in one pattern (Lua's `LUA_MAXCAPTURES`).
pub const MAX_CAPTURES: usize = 32;

/// Maximum nesting of the backtracking matcher (Lua's `MAXCCALLS`); deeper
/// patterns fail with "pattern too complex".
pub const MAX_MATCH_DEPTH: usize = 200;

const ESC: u8 = b'%';
const SPECIALS: &[u8] = b"^$*+?.([%-";

/// One capture value as the library should push it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capture {
    /// A substring capture: byte range `start..end` of the subject.
    Str { start: usize, end: usize },
    /// A position capture `()`: the 1-based position in the subject.
    Position(i64),
}

impl Capture {
    /// The captured bytes, or `None` for a position capture.
    pub fn as_bytes<'a>(&self, src: &'a [u8]) -> Option<&'a [u8]> {
        match *self {
            Capture::Str { start, end } => src.get(start..end),
            Capture::Position(_) => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RawCap {
    Unfinished(usize),
    Position(usize),
    Closed(usize, usize),
}

/// The result of one successful match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captures {
    /// Start of the whole match (0-based byte offset).
    pub start: usize,
    /// End of the whole match (exclusive byte offset).
    pub end: usize,
    raw: Vec<RawCap>,
}

impl Captures {
    /// Number of captures the pattern defined (0 if none).
    pub fn count(&self) -> usize {
        self.raw.len()
    }

    /// Capture `i` (0-based) as Lua's `get_onecapture` sees it: when the
    /// pattern has no captures, index 0 denotes the whole match.  Errors:
    /// "invalid capture index %N" for out-of-range indices and
    /// "unfinished capture" for a capture whose `)` was never reached.
    pub fn get(&self, i: usize) -> Result<Capture, String> {
        match self.raw.get(i) {
            None => {
                if i == 0 {
                    Ok(Capture::Str {
                        start: self.start,
                        end: self.end,
                    })
                } else {
                    Err(format!("invalid capture index %{}", i + 1))
                }
            }
            Some(RawCap::Unfinished(_)) => Err("unfinished capture".to_string()),
            Some(RawCap::Position(p)) => Ok(Capture::Position(*p as i64 + 1)),
            Some(RawCap::Closed(s, e)) => Ok(Capture::Str { start: *s, end: *e }),
        }
    }

    /// All values `string.match`/`gmatch`/a gsub function receive: the
    /// captures, or the whole match when the pattern has none.
    pub fn values(&self) -> Result<Vec<Capture>, String> {
        let n = self.raw.len().max(1);
        (0..n).map(|i| self.get(i)).collect()
    }

    /// The extra values `string.find` returns after the two indices: only
    /// the explicit captures (empty when the pattern has none).
    pub fn captures_only(&self) -> Result<Vec<Capture>, String> {
        (0..self.raw.len()).map(|i| self.get(i)).collect()
    }
}

struct Matcher<'a> {
    src: &'a [u8],
    pat: &'a [u8],
    depth: usize,
    caps: Vec<RawCap>,
}

fn class_matches(c: u8, cl: u8) -> bool {
    let res = match cl.to_ascii_lowercase() {
        b'a' => c.is_ascii_alphabetic(),
        b'c' => c < 32 || c == 127,
        b'd' => c.is_ascii_digit(),
        b'g' => (0x21..=0x7e).contains(&c),
        b'l' => c.is_ascii_lowercase(),
        b'p' => c.is_ascii_punctuation(),
        b's' => c == b' ' || (9..=13).contains(&c),
        b'u' => c.is_ascii_uppercase(),
        b'w' => c.is_ascii_alphanumeric(),
        b'x' => c.is_ascii_hexdigit(),
        _ => return cl == c,
    };
    if cl.is_ascii_uppercase() {
        !res
    } else {
        res
    }
}

impl<'a> Matcher<'a> {
    fn new(src: &'a [u8], pat: &'a [u8]) -> Self {
        Matcher {
            src,
            pat,
            depth: MAX_MATCH_DEPTH,
            caps: Vec::new(),
        }
    }

    /// Pattern byte at `i`, or 0 past the end (C's terminating NUL).
    fn p(&self, i: usize) -> u8 {
        self.pat.get(i).copied().unwrap_or(0)
    }

    fn s(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    /// Index just past the single-character class starting at `p`.
    fn class_end(&self, mut p: usize) -> Result<usize, String> {
        let c = self.p(p);
        p += 1;
        if c == ESC {
            if p >= self.pat.len() {
                return Err("malformed pattern (ends with '%')".into());
            }
            return Ok(p + 1);
        }
        if c == b'[' {
            if self.p(p) == b'^' {
                p += 1;
            }
            loop {
                if p >= self.pat.len() {
                    return Err("malformed pattern (missing ']')".into());
                }
                let c = self.p(p);
                p += 1;
                if c == ESC && p < self.pat.len() {
                    p += 1;
                }
                if self.p(p) == b']' {
                    break;
                }
            }
            return Ok(p + 1);
        }
        Ok(p)
    }

    /// Does `c` belong to the set `[...]` spanning `p..=ec` (`ec` is the `]`)?
    fn match_bracket(&self, c: u8, mut p: usize, ec: usize) -> bool {
        let mut sig = true;
        if self.p(p + 1) == b'^' {
            sig = false;
            p += 1;
        }
        loop {
            p += 1;
            if p >= ec {
                break;
            }
            let pc = self.p(p);
            if pc == ESC {
                p += 1;
                if class_matches(c, self.p(p)) {
                    return sig;
                }
            } else if self.p(p + 1) == b'-' && p + 2 < ec {
                p += 2;
                if pc <= c && c <= self.p(p) {
                    return sig;
                }
            } else if pc == c {
                return sig;
            }
        }
        !sig
    }

    fn single_match(&self, s: usize, p: usize, ep: usize) -> bool {
        if s >= self.src.len() {
            return false;
        }
        let c = self.s(s);
        match self.p(p) {
            b'.' => true,
            ESC => class_matches(c, self.p(p + 1)),
            b'[' => self.match_bracket(c, p, ep.saturating_sub(1)),
            pc => pc == c,
        }
    }

    fn do_match(&mut self, s: usize, p: usize) -> Result<Option<usize>, String> {
        if self.depth == 0 {
            return Err("pattern too complex".into());
        }
        self.depth -= 1;
        let r = self.match_body(s, p);
        self.depth += 1;
        r
    }

    fn match_body(&mut self, mut s: usize, mut p: usize) -> Result<Option<usize>, String> {
        loop {
            if p >= self.pat.len() {
                return Ok(Some(s));
            }
            match self.p(p) {
                b'(' => {
                    return if self.p(p + 1) == b')' {
                        self.start_capture(s, p + 2, true)
                    } else {
                        self.start_capture(s, p + 1, false)
                    };
                }
                b')' => return self.end_capture(s, p + 1),
                b'$' if p + 1 == self.pat.len() => {
                    return Ok(if s == self.src.len() { Some(s) } else { None });
                }
                ESC if self.p(p + 1) == b'b' => match self.match_balance(s, p + 2)? {
                    Some(ns) => {
                        s = ns;
                        p += 4;
                        continue;
                    }
                    None => return Ok(None),
                },
                ESC if self.p(p + 1) == b'f' => {
                    p += 2;
                    if self.p(p) != b'[' {
                        return Err("missing '[' after '%f' in pattern".into());
                    }
                    let ep = self.class_end(p)?;
                    let prev = if s == 0 { 0 } else { self.s(s - 1) };
                    let cur = self.s(s);
                    if !self.match_bracket(prev, p, ep - 1) && self.match_bracket(cur, p, ep - 1) {
                        p = ep;
                        continue;
                    }
                    return Ok(None);
                }
                ESC if self.p(p + 1).is_ascii_digit() => {
                    match self.match_capture(s, self.p(p + 1))? {
                        Some(ns) => {
                            s = ns;
                            p += 2;
                            continue;
                        }
                        None => return Ok(None),
                    }
                }
                _ => {
                    let ep = self.class_end(p)?;
                    let epc = self.p(ep);
                    if !self.single_match(s, p, ep) {
                        if epc == b'*' || epc == b'?' || epc == b'-' {
                            p = ep + 1;
                            continue;
                        }
                        return Ok(None);
                    }
                    match epc {
                        b'?' => {
                            if let Some(r) = self.do_match(s + 1, ep + 1)? {
                                return Ok(Some(r));
                            }
                            p = ep + 1;
                            continue;
                        }
                        b'+' => return self.max_expand(s + 1, p, ep),
                        b'*' => return self.max_expand(s, p, ep),
                        b'-' => return self.min_expand(s, p, ep),
                        _ => {
                            s += 1;
                            p = ep;
                            continue;
                        }
                    }
                }
            }
        }
    }

    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> Result<Option<usize>, String> {
        let mut i = 0usize;
        while self.single_match(s + i, p, ep) {
            i += 1;
        }
        loop {
            if let Some(r) = self.do_match(s + i, ep + 1)? {
                return Ok(Some(r));
            }
            if i == 0 {
                return Ok(None);
            }
            i -= 1;
        }
    }

    fn min_expand(&mut self, mut s: usize, p: usize, ep: usize) -> Result<Option<usize>, String> {
        loop {
            if let Some(r) = self.do_match(s, ep + 1)? {
                return Ok(Some(r));
            }
            if self.single_match(s, p, ep) {
                s += 1;
            } else {
                return Ok(None);
            }
        }
    }

    fn start_capture(
        &mut self,
        s: usize,
        p: usize,
        position: bool,
    ) -> Result<Option<usize>, String> {
        if self.caps.len() >= MAX_CAPTURES {
            return Err("too many captures".into());
        }
        self.caps.push(if position {
            RawCap::Position(s)
        } else {
            RawCap::Unfinished(s)
        });
        let r = self.do_match(s, p)?;
        if r.is_none() {
            self.caps.pop();
        }
        Ok(r)
    }

    fn end_capture(&mut self, s: usize, p: usize) -> Result<Option<usize>, String> {
        let l = self
            .caps
            .iter()
            .rposition(|c| matches!(c, RawCap::Unfinished(_)))
            .ok_or_else(|| "invalid pattern capture".to_string())?;
        let start = match self.caps[l] {
            RawCap::Unfinished(st) => st,
            _ => return Err("invalid pattern capture".into()),
        };
        self.caps[l] = RawCap::Closed(start, s);
        let r = self.do_match(s, p)?;
        if r.is_none() {
            self.caps[l] = RawCap::Unfinished(start);
        }
        Ok(r)
    }

    fn match_balance(&self, s: usize, p: usize) -> Result<Option<usize>, String> {
        if p + 1 >= self.pat.len() {
            return Err("malformed pattern (missing arguments to '%b')".into());
        }
        let (open, close) = (self.p(p), self.p(p + 1));
        if s >= self.src.len() || self.s(s) != open {
            return Ok(None);
        }
        let mut cont = 1usize;
        let mut i = s + 1;
        while i < self.src.len() {
            let c = self.s(i);
            if c == close {
                cont -= 1;
                if cont == 0 {
                    return Ok(Some(i + 1));
                }
            } else if c == open {
                cont += 1;
            }
            i += 1;
        }
        Ok(None)
    }

    fn match_capture(&self, s: usize, digit: u8) -> Result<Option<usize>, String> {
        let l = digit as i64 - b'1' as i64;
        let cap = if l < 0 {
            None
        } else {
            self.caps.get(l as usize).copied()
        };
        match cap {
            Some(RawCap::Closed(cs, ce)) => {
                let len = ce - cs;
                let want = &self.src[cs..ce];
                match self.src.get(s..s + len) {
                    Some(got) if got == want => Ok(Some(s + len)),
                    _ => Ok(None),
                }
            }
            // A position capture has no text: the comparison never succeeds.
            Some(RawCap::Position(_)) => Ok(None),
            _ => Err(format!("invalid capture index %{}", l + 1)),
        }
    }
}

/// Converts Lua's `init` argument (1-based, negative counts from the end,
/// default 1) into a 0-based start offset, as `string.find`/`match`/`gmatch`
/// do.  Returns `None` when `init` is past `len + 1`: `find`/`match` then
/// return nil (fail) and `gmatch` produces no matches.
pub fn resolve_init(init: i64, len: usize) -> Option<usize> {
    let len_i = len as i64;
    let pos = if init > 0 {
        init
    } else if init == 0 || init < -len_i {
        1
    } else {
        len_i + init + 1
    };
    let start = (pos - 1) as u64;
    if start > len as u64 {
        None
    } else {
        Some(start as usize)
    }
}

/// Plain substring search starting at offset `init`; the 0-based start of
/// the first occurrence.  An empty needle matches at `init`.
pub fn find_plain(src: &[u8], needle: &[u8], init: usize) -> Option<usize> {
    let hay = src.get(init..)?;
    if needle.is_empty() {
        return Some(init);
    }
    if needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + init)
}

/// True when `pat` contains none of Lua's pattern special characters, so
/// `string.find` may use a plain search.
pub fn has_no_specials(pat: &[u8]) -> bool {
    !pat.iter().any(|c| SPECIALS.contains(c))
}

/// Tries to match `pat` with the subject starting exactly at offset `s`
/// (no anchor handling: a leading `^` is an ordinary character here).
pub fn match_here(src: &[u8], pat: &[u8], s: usize) -> Result<Option<Captures>, String> {
    let mut m = Matcher::new(src, pat);
    Ok(m.do_match(s, 0)?.map(|end| Captures {
        start: s,
        end,
        raw: m.caps,
    }))
}

/// Searches for the first match of `pat` at or after offset `init` (0-based,
/// at most `src.len()`), honouring a leading `^` anchor.  This is the core
/// of `string.find` (non-plain) and `string.match`.
pub fn match_at(src: &[u8], pat: &[u8], init: usize) -> Result<Option<Captures>, String> {
    let (anchor, pat_start) = if pat.first() == Some(&b'^') {
        (true, 1)
    } else {
        (false, 0)
    };
    let body = &pat[pat_start..];
    let mut s = init;
    loop {
        let mut m = Matcher::new(src, body);
        if let Some(end) = m.do_match(s, 0)? {
            return Ok(Some(Captures {
                start: s,
                end,
                raw: m.caps,
            }));
        }
        s += 1;
        if anchor || s > src.len() {
            return Ok(None);
        }
    }
}

/// Result of [`find`]: `string.find`'s values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindResult {
    /// 1-based start index of the match.
    pub start: i64,
    /// 1-based inclusive end index of the match.
    pub end: i64,
    /// The pattern's captures (empty for plain finds).
    pub captures: Vec<Capture>,
}

/// `string.find(src, pat, init, plain)` with Lua's `init` argument (pass 1
/// when absent).  `Ok(None)` means the function returns nil (fail).
pub fn find(src: &[u8], pat: &[u8], init: i64, plain: bool) -> Result<Option<FindResult>, String> {
    let Some(init) = resolve_init(init, src.len()) else {
        return Ok(None);
    };
    if plain || has_no_specials(pat) {
        return Ok(find_plain(src, pat, init).map(|p| FindResult {
            start: p as i64 + 1,
            end: (p + pat.len()) as i64,
            captures: Vec::new(),
        }));
    }
    match match_at(src, pat, init)? {
        None => Ok(None),
        Some(c) => Ok(Some(FindResult {
            start: c.start as i64 + 1,
            end: c.end as i64,
            captures: c.captures_only()?,
        })),
    }
}

/// `string.match(src, pat, init)`: the values to return (captures or the
/// whole match), or `Ok(None)` for nil.
pub fn str_match(src: &[u8], pat: &[u8], init: i64) -> Result<Option<Vec<Capture>>, String> {
    let Some(init) = resolve_init(init, src.len()) else {
        return Ok(None);
    };
    match match_at(src, pat, init)? {
        None => Ok(None),
        Some(c) => Ok(Some(c.values()?)),
    }
}

/// State of a `string.gmatch` iterator.  The VM keeps one of these (plus the
/// subject and pattern strings) in the iterator closure and calls
/// [`GMatch::next_match`] on every call; each `Some` result's
/// [`Captures::values`] are the values to return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GMatch {
    pos: usize,
    last_match: Option<usize>,
}

impl GMatch {
    /// New iterator state for `string.gmatch(src, pat, init)` (`init` = 1 when
    /// absent).  A `^` in the pattern is an ordinary character in gmatch.
    pub fn new(src_len: usize, init: i64) -> Self {
        let pos = resolve_init(init, src_len).unwrap_or(src_len + 1);
        GMatch {
            pos,
            last_match: None,
        }
    }

    /// Rebuilds an iterator from a state saved with [`GMatch::state`] (for
    /// VMs that keep the iterator state in integer upvalues).
    pub fn from_state(pos: usize, last_match: Option<usize>) -> Self {
        GMatch { pos, last_match }
    }

    /// The iterator state: next start offset and end of the last match.
    pub fn state(&self) -> (usize, Option<usize>) {
        (self.pos, self.last_match)
    }

    /// Finds the next match, skipping empty matches that end where the
    /// previous match ended (Lua 5.4's rule).
    pub fn next_match(&mut self, src: &[u8], pat: &[u8]) -> Result<Option<Captures>, String> {
        let mut s = self.pos;
        while s <= src.len() {
            let mut m = Matcher::new(src, pat);
            if let Some(end) = m.do_match(s, 0)? {
                if Some(end) != self.last_match {
                    self.pos = end;
                    self.last_match = Some(end);
                    return Ok(Some(Captures {
                        start: s,
                        end,
                        raw: m.caps,
                    }));
                }
            }
            s += 1;
        }
        self.pos = src.len() + 1;
        Ok(None)
    }
}

/// Error of [`gsub_split`]: a pattern error (Lua message) or an error
/// returned by the replacement callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GsubError<E> {
    /// Malformed pattern, "pattern too complex", etc. (raise with
    /// position info like any `luaL_error`).
    Pattern(String),
    /// The callback's error, unchanged.
    Repl(E),
}

/// Generic `string.gsub` driver.  `max_n` is the optional 4th argument
/// (`None` = unlimited).  For each match, `repl` is called with the subject,
/// the captures and the output buffer, and must append the replacement
/// (for a string replacement use [`append_string_replacement`]; for table /
/// function replacements the VM looks up / calls with [`Captures::get`]`(0)`
/// or [`Captures::values`], appends `src[c.start..c.end]` when the result is
/// false/nil, and otherwise raises "invalid replacement value (a TYPE)" for
/// non-string/number results).  Returns the new string and the match count.
/// Pattern errors are converted with `E: From<String>`; see [`gsub_split`]
/// when the VM needs its own context to build errors.
pub fn gsub<E: From<String>>(
    src: &[u8],
    pat: &[u8],
    max_n: Option<i64>,
    repl: impl FnMut(&[u8], &Captures, &mut Vec<u8>) -> Result<(), E>,
) -> Result<(Vec<u8>, i64), E> {
    gsub_split(src, pat, max_n, repl).map_err(|e| match e {
        GsubError::Pattern(m) => E::from(m),
        GsubError::Repl(e) => e,
    })
}

/// Like [`gsub`], but keeps pattern errors and callback errors apart, so no
/// `From<String>` conversion is needed (map the result afterwards, when the
/// callback's borrows have ended).
pub fn gsub_split<E>(
    src: &[u8],
    pat: &[u8],
    max_n: Option<i64>,
    mut repl: impl FnMut(&[u8], &Captures, &mut Vec<u8>) -> Result<(), E>,
) -> Result<(Vec<u8>, i64), GsubError<E>> {
    let (anchor, pat) = match pat.first() {
        Some(&b'^') => (true, &pat[1..]),
        _ => (false, pat),
    };
    let max_n = max_n.unwrap_or(src.len() as i64 + 1);
    let mut out = Vec::with_capacity(src.len());
    let mut s = 0usize;
    let mut last_match: Option<usize> = None;
    let mut n = 0i64;
    while n < max_n {
        let mut m = Matcher::new(src, pat);
        let e = m.do_match(s, 0).map_err(GsubError::Pattern)?;
        match e {
            Some(e) if Some(e) != last_match => {
                n += 1;
                let caps = Captures {
                    start: s,
                    end: e,
                    raw: m.caps,
                };
                repl(src, &caps, &mut out).map_err(GsubError::Repl)?;
                s = e;
                last_match = Some(e);
            }
            _ => {
                if s < src.len() {
                    out.push(src[s]);
                    s += 1;
                } else {
                    break;
                }
            }
        }
        if anchor {
            break;
        }
    }
    if let Some(rest) = src.get(s..) {
        out.extend_from_slice(rest);
    }
    Ok((out, n))
}

/// Appends gsub's string replacement `repl` for match `caps`: `%0` is the
/// whole match, `%1`-`%9` captures (position captures as decimal integers),
/// `%%` a percent sign; any other `%x` raises
/// "invalid use of '%' in replacement string".
pub fn append_string_replacement(
    src: &[u8],
    caps: &Captures,
    repl: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let mut i = 0;
    while i < repl.len() {
        let c = repl[i];
        i += 1;
        if c != ESC {
            out.push(c);
            continue;
        }
        let d = repl.get(i).copied().unwrap_or(0);
        i += 1;
        if d == ESC {
            out.push(ESC);
        } else if d == b'0' {
            out.extend_from_slice(src.get(caps.start..caps.end).unwrap_or(&[]));
        } else if d.is_ascii_digit() {
            match caps.get((d - b'1') as usize)? {
                Capture::Str { start, end } => {
                    out.extend_from_slice(src.get(start..end).unwrap_or(&[]))
                }
                Capture::Position(p) => out.extend_from_slice(p.to_string().as_bytes()),
            }
        } else {
            return Err("invalid use of '%' in replacement string".into());
        }
    }
    Ok(())
}

/// Convenience: `string.gsub(src, pat, repl_string, max_n)` entirely.
pub fn gsub_str(
    src: &[u8],
    pat: &[u8],
    repl: &[u8],
    max_n: Option<i64>,
) -> Result<(Vec<u8>, i64), String> {
    gsub(src, pat, max_n, |s, c, out| {
        append_string_replacement(s, c, repl, out)
    })
}

#[cfg(test)]
#[path = "pattern_tests.rs"]
mod tests;
