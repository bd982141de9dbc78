//! Parser for the textual trace IR printed by [`Trace::to_text`].
//!
//! Tests of optimization passes are written as IR text in, IR text out (in
//! the manner of Cranelift's file tests), so the printer and this parser must
//! round-trip exactly. Value names carry their ids (`i7` is value 7 of type
//! int), so a test's expected output can refer to the same names as its
//! input. Lines starting with `;` are comments (dumps print source locations
//! there). The first `label` line lists the trace's inputs
//! (`label i0=s0:0, r1=s1:5`: value, red slot, type tag); a second one is
//! the inner label of a peeled trace (`label i9=i4, f10=f2`: each loop
//! parameter with its value on entry from the preamble).

use crate::ir::*;
use std::collections::HashMap;

/// A parse error with its 1-based line number.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// Line number (1-based).
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a trace from its textual form.
pub fn parse_trace(text: &str) -> Result<Trace, ParseError> {
    let mut p = Parser {
        trace: Trace::default(),
        defined: HashMap::new(),
        entry_label: false,
    };
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        p.line(line).map_err(|message| ParseError {
            line: n + 1,
            message,
        })?;
    }
    Ok(p.trace)
}

struct Parser {
    trace: Trace,
    defined: HashMap<u32, Type>,
    /// True once the entry label (the inputs) has been read.
    entry_label: bool,
}

fn parse_int(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x") {
        u64::from_str_radix(h, 16).map(|u| u as i64)
    } else {
        body.parse::<u64>().map(|u| u as i64)
    }
    .map_err(|_| format!("bad integer '{s}'"))?;
    Ok(if neg { v.wrapping_neg() } else { v })
}

fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(s[start..i].trim());
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    let last = s[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

impl Parser {
    fn value_ref(&mut self, name: &str, define: Option<Type>) -> Result<Value, String> {
        let mut chars = name.chars();
        let letter = chars.next().ok_or("empty value name")?;
        let ty = match letter {
            'i' => Type::Int,
            'f' => Type::Float,
            'r' => Type::Ref,
            _ => return Err(format!("bad value name '{name}'")),
        };
        let id: u32 = chars
            .as_str()
            .parse()
            .map_err(|_| format!("bad value name '{name}'"))?;
        match define {
            Some(t) => {
                if t != ty {
                    return Err(format!(
                        "{name}: the operation produces a {} value",
                        t.name()
                    ));
                }
                if self.defined.insert(id, ty).is_some() {
                    return Err(format!("{name} defined twice"));
                }
                let tys = &mut self.trace.value_types;
                if tys.len() <= id as usize {
                    tys.resize(id as usize + 1, Type::Void);
                }
                tys[id as usize] = ty;
            }
            None => match self.defined.get(&id) {
                Some(t) if *t == ty => {}
                Some(_) => return Err(format!("{name}: wrong type letter")),
                None => return Err(format!("{name} used before definition")),
            },
        }
        Ok(Value(id))
    }

    fn operand(&mut self, s: &str) -> Result<Operand, String> {
        let s = s.trim();
        if s == "null" {
            return Ok(Operand::Ref(0));
        }
        if let Some(a) = s.strip_prefix("ref:") {
            return Ok(Operand::Ref(parse_int(a)? as usize));
        }
        match s {
            "inf" => return Ok(Operand::float(f64::INFINITY)),
            "-inf" => return Ok(Operand::float(f64::NEG_INFINITY)),
            "nan" => return Ok(Operand::float(f64::NAN)),
            _ => {}
        }
        let first = s.chars().next().ok_or("missing operand")?;
        if first.is_ascii_digit() || first == '-' {
            if !s.contains("0x") && s.contains(['.', 'e', 'E']) {
                return s
                    .parse::<f64>()
                    .map(Operand::float)
                    .map_err(|_| format!("bad float '{s}'"));
            }
            return parse_int(s).map(Operand::Int);
        }
        Ok(Operand::Val(self.value_ref(s, None)?))
    }

    fn descr_ref(&self, s: &str) -> Result<DescrId, String> {
        let n: u32 = s
            .strip_prefix('d')
            .and_then(|x| x.parse().ok())
            .ok_or(format!("bad descriptor '{s}'"))?;
        if n as usize >= self.trace.descrs.len() {
            return Err(format!("descriptor {s} not declared"));
        }
        Ok(DescrId(n))
    }

    fn line(&mut self, line: &str) -> Result<(), String> {
        if let Some(name) = line.strip_prefix("trace") {
            self.trace.name = name.trim().to_string();
            return Ok(());
        }
        if let Some(rest) = line.strip_prefix("descr ") {
            return self.descr_line(rest);
        }
        if let Some(rest) = line.strip_prefix("label") {
            if self.entry_label {
                return self.inner_label(rest);
            }
            self.entry_label = true;
            for item in split_top(rest, ',') {
                let (name, loc) = item
                    .split_once('=')
                    .ok_or("label input needs name=sSLOT:TAG")?;
                let loc = loc
                    .trim()
                    .strip_prefix('s')
                    .ok_or("label slot must start with 's'")?;
                let (slot, tag) = loc.split_once(':').ok_or("label slot needs :TAG")?;
                let ty = match name.trim().chars().next() {
                    Some('i') => Type::Int,
                    Some('f') => Type::Float,
                    Some('r') => Type::Ref,
                    _ => return Err(format!("bad input name '{name}'")),
                };
                let value = self.value_ref(name.trim(), Some(ty))?;
                let slot = slot.parse().map_err(|_| "bad slot")?;
                let tag = tag.parse().map_err(|_| "bad tag")?;
                self.trace.inputs.push(Input {
                    value,
                    slot,
                    tag,
                    ty,
                });
            }
            return Ok(());
        }
        self.op_line(line)
    }

    /// The inner label of a peeled trace: `label p=operand, ...`.
    fn inner_label(&mut self, rest: &str) -> Result<(), String> {
        let mut params = Vec::new();
        let mut args = Vec::new();
        for item in split_top(rest, ',') {
            let (name, init) = item
                .split_once('=')
                .ok_or("loop label parameter needs name=VALUE")?;
            // The entry value is read before the parameter is defined.
            let init = self.operand(init)?;
            let ty = match name.trim().chars().next() {
                Some('i') => Type::Int,
                Some('f') => Type::Float,
                Some('r') => Type::Ref,
                _ => return Err(format!("bad parameter name '{name}'")),
            };
            params.push(self.value_ref(name.trim(), Some(ty))?);
            args.push(init);
        }
        let mut op = Op::new(Opcode::Label, None, args);
        op.params = params;
        self.trace.ops.push(op);
        Ok(())
    }

    fn descr_line(&mut self, rest: &str) -> Result<(), String> {
        let (id, body) = rest.split_once('=').ok_or("descr needs '='")?;
        let want = self.trace.descrs.len();
        if id.trim() != format!("d{want}") {
            return Err(format!(
                "descriptors must be declared in order; expected d{want}"
            ));
        }
        let words: Vec<&str> = body.split_whitespace().collect();
        let ty = |s: &str| Type::from_name(s).ok_or(format!("bad type '{s}'"));
        let d = match words.first().copied() {
            Some("field") if words.len() >= 5 => Descr::Field(FieldDescr {
                name: words[1].to_string().into(),
                offset: parse_int(words[2])? as i32,
                ty: ty(words[3])?,
                size: parse_int(words[4])? as u8,
                immutable: words.get(5) == Some(&"immutable"),
            }),
            Some("array") if words.len() >= 6 => {
                let len = words[2].strip_prefix("len=").ok_or("array needs len=")?;
                let items = words[3]
                    .strip_prefix("items=")
                    .ok_or("array needs items=")?;
                let (items, indirect) = match items.strip_suffix('*') {
                    Some(i) => (i, true),
                    None => (items, false),
                };
                Descr::Array(ArrayDescr {
                    name: words[1].to_string().into(),
                    len_offset: parse_int(len)? as i32,
                    items_offset: parse_int(items)? as i32,
                    indirect,
                    item_ty: ty(words[4])?,
                    item_size: parse_int(words[5])? as u8,
                })
            }
            Some("call") => {
                let body = body.trim().strip_prefix("call").unwrap_or("").trim();
                let open = body.find('(').ok_or("call needs (args)")?;
                let close = body.find(')').ok_or("call needs (args)")?;
                let head: Vec<&str> = body[..open].split_whitespace().collect();
                if head.len() != 2 {
                    return Err("call needs NAME ADDR".into());
                }
                let args = body[open + 1..close]
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(ty)
                    .collect::<Result<Vec<_>, _>>()?;
                let tail: Vec<&str> = body[close + 1..].split_whitespace().collect();
                if tail.len() < 3 || tail[0] != "->" {
                    return Err("call needs '-> TYPE EFFECT'".into());
                }
                let kind = match tail[2] {
                    "pure" => EffectKind::Pure,
                    "reads" => EffectKind::ReadsHeap,
                    "writes" => EffectKind::WritesHeap,
                    "io" => EffectKind::Io,
                    e => return Err(format!("bad effect '{e}'")),
                };
                Descr::Call(CallDescr {
                    name: head[0].to_string().into(),
                    addr: parse_int(head[1])? as usize,
                    args: args.into(),
                    ret: ty(tail[1])?,
                    effects: Effects {
                        kind,
                        can_raise: tail.get(3) == Some(&"raise"),
                    },
                })
            }
            Some("size") if words.len() >= 4 => Descr::Size(SizeDescr {
                name: words[1].to_string().into(),
                size: parse_int(words[2])? as u32,
                class: parse_int(words[3].strip_prefix("class=").ok_or("size needs class=")?)?
                    as u32,
            }),
            _ => return Err(format!("bad descriptor '{}'", body.trim())),
        };
        self.trace.descrs.push(d);
        Ok(())
    }

    fn resume_value(&mut self, s: &str) -> Result<ResumeValue, String> {
        if let Some(n) = s.strip_prefix('v') {
            if let Ok(i) = n.parse() {
                return Ok(ResumeValue::Virtual(i));
            }
        }
        Ok(ResumeValue::Op(self.operand(s)?))
    }

    fn snapshot(&mut self, s: &str) -> Result<SnapshotId, String> {
        let mut snap = Snapshot::default();
        for item in split_top(s, ' ') {
            if let Some(g) = item.strip_prefix('@') {
                snap.green = g.parse().map_err(|_| format!("bad green '{item}'"))?;
            } else if let Some(rest) = item.strip_prefix('s') {
                let (lhs, val) = rest
                    .split_once('=')
                    .ok_or(format!("bad resume entry '{item}'"))?;
                let (slot, tag) = lhs
                    .split_once(':')
                    .ok_or(format!("resume entry needs sSLOT:TAG, got '{item}'"))?;
                snap.slots.push(SlotValue {
                    slot: slot.parse().map_err(|_| "bad slot")?,
                    tag: tag.parse().map_err(|_| "bad tag")?,
                    value: self.resume_value(val)?,
                });
            } else if let Some(rest) = item.strip_prefix('v') {
                let (idx, body) = rest
                    .split_once('=')
                    .ok_or(format!("bad virtual '{item}'"))?;
                if idx.parse::<usize>().ok() != Some(snap.virtuals.len()) {
                    return Err("virtuals must be numbered in order".into());
                }
                let body = body
                    .strip_prefix("new(")
                    .and_then(|b| b.strip_suffix(')'))
                    .ok_or("virtual needs new(...)")?;
                let mut parts = split_top(body, ',').into_iter();
                let size =
                    self.descr_ref(parts.next().ok_or("virtual needs a size descriptor")?)?;
                let mut fields = Vec::new();
                for f in parts {
                    let (d, v) = f.split_once('=').ok_or("virtual field needs dN=VALUE")?;
                    fields.push((self.descr_ref(d.trim())?, self.resume_value(v.trim())?));
                }
                snap.virtuals.push(VirtualObject { size, fields });
            } else {
                return Err(format!("bad resume entry '{item}'"));
            }
        }
        self.trace.snapshots.push(snap);
        Ok(SnapshotId(self.trace.snapshots.len() as u32 - 1))
    }

    fn op_line(&mut self, line: &str) -> Result<(), String> {
        let (body, snap_text) = match line.find('[') {
            Some(i) => {
                let end = line.rfind(']').ok_or("unterminated '['")?;
                (&line[..i], Some(&line[i + 1..end]))
            }
            None => (line, None),
        };
        let (result_name, rhs) = match body.split_once(" = ") {
            Some((r, rhs)) => (Some(r.trim()), rhs.trim()),
            None => (None, body.trim()),
        };
        let (name, args_text) = match rhs.split_once(' ') {
            Some((n, a)) => (n, a),
            None => (rhs, ""),
        };
        let opcode = Opcode::from_name(name).ok_or(format!("unknown operation '{name}'"))?;
        let mut args = Vec::new();
        let mut descr = None;
        for a in split_top(args_text, ',') {
            if a.starts_with('d') && a[1..].chars().all(|c| c.is_ascii_digit()) && a.len() > 1 {
                descr = Some(self.descr_ref(a)?);
            } else {
                args.push(self.operand(a)?);
            }
        }
        let snapshot = match snap_text {
            Some(t) => Some(self.snapshot(t)?),
            None => None,
        };
        if opcode.is_guard() != snapshot.is_some() {
            return Err(format!(
                "{name}: guards (and only guards) take [resume data]"
            ));
        }
        let ty = self.trace.result_type(opcode, descr, &args);
        let result = match (result_name, ty) {
            (Some(r), t) if t != Type::Void => Some(self.value_ref(r, Some(t))?),
            (Some(_), _) => return Err(format!("{name} has no result")),
            (None, Type::Void) => None,
            (None, _) => return Err(format!("{name} needs a result name")),
        };
        self.trace.ops.push(Op {
            opcode,
            result,
            args,
            descr,
            snapshot,
            loc: None,
            params: Vec::new(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
trace power_rec
descr d0 = field List.len 0 int 8 immutable
descr d1 = array List.items len=0 items=8 int 8
descr d2 = call helper 0x1000 (int, float) -> float pure raise
descr d3 = size Point 24 class=7
label i0=s0:0, i1=s1:0, r2=s2:1
i3 = int_mul i1, i0
i4 = int_sub_ovf i3, 1 [@1 s1:0=i3]
i5 = getarrayitem r2, i4, d1
f6 = call d2, i5, 2.5
i7 = int_gt i4, 0
guard_true i7 [@2 s0:0=i0 s1:0=i4 s3:2=v0 v0=new(d3, d0=i5)]
setfield r2, -3, d0
jump i0, i4, r2
";

    #[test]
    fn round_trips() {
        let t = parse_trace(SAMPLE).unwrap();
        assert_eq!(t.to_text(), SAMPLE);
        t.verify().unwrap();
        assert_eq!(t.inputs.len(), 3);
        assert_eq!(t.num_guards(), 2);
        assert!(t.is_loop());
        assert_eq!(t.snapshots[1].exit_operands().len(), 3);
    }

    #[test]
    fn errors_have_line_numbers() {
        let e = parse_trace("label i0=s0:0\ni1 = int_add i0, i9\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("i9 used before definition"), "{e}");
        let e = parse_trace("label i0=s0:0\nguard_true i0\n").unwrap_err();
        assert!(e.message.contains("resume data"), "{e}");
        let e = parse_trace("f1 = int_add 1, 2\n").unwrap_err();
        assert!(e.message.contains("int value"), "{e}");
        assert!(parse_trace("bogus i1\n").is_err());
        assert!(parse_trace("descr d1 = field x 0 int 8\n").is_err());
    }

    const PEELED: &str = "\
trace peeled
label i0=s0:0, f1=s1:3
i2 = int_add i0, 1
f3 = float_mul f1, 2.0
guard_true i2 [@0 s0:0=i2]
label i4=i2, f5=f3, i6=7
i7 = int_add i4, i6
f8 = float_add f5, f3
guard_true i7 [@0 s0:0=i7 s1:3=f8]
jump i7, f8, i4
";

    #[test]
    fn peeled_traces_round_trip_and_verify() {
        let t = parse_trace(PEELED).unwrap();
        assert_eq!(t.to_text(), PEELED);
        t.verify().unwrap();
        assert_eq!(t.label_index(), Some(3));
        assert_eq!(t.ops[3].params, vec![Value(4), Value(5), Value(6)]);
        assert_eq!(
            t.loop_param_types(),
            vec![Type::Int, Type::Float, Type::Int]
        );
        assert!(t.is_loop());
    }

    #[test]
    fn malformed_labels_are_rejected() {
        let bad = |text: &str, what: &str| {
            let e = match parse_trace(text) {
                Ok(t) => t.verify().unwrap_err(),
                Err(e) => e.message,
            };
            assert!(e.contains(what), "{what}: {e}");
        };
        // The jump must match the label's parameters, not the inputs.
        bad(
            &PEELED.replace("jump i7, f8, i4", "jump i7, f8"),
            "2 operands for 3 label parameters",
        );
        bad(
            &PEELED.replace("jump i7, f8, i4", "jump i7, i4, i4"),
            "jump operand type mismatch for f5",
        );
        // Parameters are defined by the label, after its operands.
        bad(
            "trace t\nlabel i0=s0:0\nlabel i1=i2\ni2 = int_add i1, 1\njump i2\n",
            "i2 used before definition",
        );
        bad(
            "trace t\nlabel i0=s0:0\nlabel i1=i0\nlabel i2=i1\njump i2\n",
            "a second label",
        );
        bad(
            "trace t\nlabel i0=s0:0\nlabel f1=i0\njump f1\n",
            "type mismatch",
        );
        bad(
            "trace t\nlabel i0=s0:0\nlabel i0=i0\njump i0\n",
            "defined twice",
        );
    }

    #[test]
    fn float_constants_round_trip() {
        let text = "trace t\nlabel f0=s0:0\nf1 = float_add f0, 1.0\nf2 = float_mul f1, 1e300\nf3 = float_add f2, -inf\njump f3\n";
        let t = parse_trace(text).unwrap();
        assert_eq!(t.to_text(), text);
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in [
            "",
            "[",
            "label",
            "label x",
            "i1 = ",
            "= =",
            "guard_true [",
            "descr d0 = call",
            "descr d0 = call a b (int -> int pure",
            "label i0=s:0",
            "i0 = int_add 99999999999999999999, 1",
        ] {
            let _ = parse_trace(s);
        }
    }
}
