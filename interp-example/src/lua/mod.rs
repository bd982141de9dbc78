//! Lua 5.4 subset interpreter.
//!
//! Pipeline: [`lexer`] → [`parser`] (AST in [`ast`]) → [`compiler`]
//! (register bytecode, [`bytecode`]) → [`vm`] (dispatch loop). Values and
//! object layouts are in [`value`]; every guest object is allocated by
//! [`heap`] (the interface stm-core's heap will take over). The standard
//! library lives in the `lib_*` modules and uses the pure helpers of
//! [`support`] (pattern matching, ...).
//!
//! For the JIT: see the `vm` module docs (merge points, prototype ids,
//! `Proto::location`/`Proto::opcode_at`, `Value::to_raw`/`from_raw`).

pub mod ast;
pub mod bytecode;
pub mod compiler;
pub mod heap;
pub mod jit;
pub mod lexer;
pub mod lib_base;
pub mod lib_math;
pub mod lib_os;
pub mod lib_string;
pub mod lib_table;
pub mod numfmt;
pub mod numparse;
pub mod parser;
pub mod support;
pub mod value;
pub mod vm;

use std::io::{Read, Write};
use value::Value;
use vm::Vm;

/// Creates a VM with the standard library loaded.
pub fn new_vm() -> Vm {
    let mut vm = Vm::new();
    lib_base::open(&mut vm);
    lib_string::open(&mut vm);
    lib_table::open(&mut vm);
    lib_math::open(&mut vm);
    lib_os::open(&mut vm);
    lib_base::register_loaded(&mut vm);
    vm
}

/// Error value → message as the standalone interpreter prints it.
pub fn error_message(vm: &mut Vm, v: Value) -> String {
    match v {
        Value::Str(s) => String::from_utf8_lossy(&s.get().bytes).into_owned(),
        Value::Int(_) | Value::Num(_) => {
            String::from_utf8_lossy(&vm.tostring_basic(v)).into_owned()
        }
        _ => {
            if !vm.metamethod(v, vm::Tm::ToString).is_nil() {
                if let Ok(s) = vm.tostring(v) {
                    return String::from_utf8_lossy(s.as_str().unwrap_or(b"")).into_owned();
                }
            }
            format!("(error object is a {} value)", vm.type_name_mt(v))
        }
    }
}

/// Runs `src` as chunk `chunkname` with `args` as the `arg` table.
/// Returns the exit status; errors are printed to stderr.
pub fn run_source(
    src: &[u8],
    chunkname: &str,
    script: &str,
    args: &[String],
    opts: &crate::cli::Options,
) -> i32 {
    let mut vm = new_vm();
    jit::attach(&mut vm, opts);
    // arg table
    let argt = vm.new_table(args.len(), 2);
    let s0 = vm.str(script.as_bytes());
    vm.table_set(argt, Value::Int(0), s0);
    let s = vm.str(b"interp-example");
    vm.table_set(argt, Value::Int(-1), s);
    for (i, a) in args.iter().enumerate() {
        let v = vm.str(a.as_bytes());
        vm.table_set(argt, Value::Int(i as i64 + 1), v);
    }
    let g = vm.globals;
    lib_base::set_field(&mut vm, g, "arg", Value::Table(argt));
    let env = Value::Table(vm.globals);
    let f = match lib_base::load_chunk(&mut vm, src, chunkname, env) {
        Ok(f) => f,
        Err(e) => {
            let _ = std::io::stdout().flush();
            eprintln!("interp-example: {}", e);
            return 1;
        }
    };
    vm.stack[0] = f;
    for (i, a) in args.iter().enumerate() {
        let v = vm.str(a.as_bytes());
        vm.ensure_stack(args.len() + 2).ok();
        vm.stack[1 + i] = v;
    }
    vm.top = 1 + args.len();
    let r = vm.call(0, args.len(), 0);
    let _ = std::io::stdout().flush();
    jit::detach(&mut vm, opts);
    match r {
        Ok(_) => 0,
        Err(e) => {
            let msg = error_message(&mut vm, e.value);
            let tb = e
                .traceback
                .unwrap_or_else(|| "stack traceback:\n\t[C]: in ?".into());
            eprintln!("interp-example: {}\n{}", msg, tb);
            1
        }
    }
}

/// Runs a Lua program file (or standard input when `program` is None) with
/// `args` as its `arg` table; returns the process exit status.
pub fn run_cli(program: Option<String>, args: Vec<String>, opts: &crate::cli::Options) -> i32 {
    let opts = opts.clone();
    let (src, chunkname, script) = match &program {
        Some(p) if p != "-" => match std::fs::read(p) {
            Ok(b) => (b, p.clone(), p.clone()),
            Err(e) => {
                eprintln!(
                    "interp-example: cannot open {}: {}",
                    p,
                    lib_base::io_err_text(&e)
                );
                return 1;
            }
        },
        _ => {
            let mut b = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut b);
            (b, "stdin".to_string(), "-".to_string())
        }
    };
    // Run on a thread with a large stack: natives that re-enter the VM
    // (bounded by vm::MAX_C_CALLS) and the parser (bounded depth) recurse.
    let child = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_source(&src, &chunkname, &script, &args, &opts)
            }));
            match r {
                Ok(code) => code,
                Err(_) => {
                    eprintln!("interp-example: internal error");
                    70
                }
            }
        });
    match child {
        Ok(h) => h.join().unwrap_or(70),
        Err(e) => {
            // e.g. the 256 MiB stack does not fit under `ulimit -v`
            eprintln!("interp-example: cannot start the interpreter thread: {e}");
            70
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `src` (on a big-stack thread, as `run_cli` does) and returns
    /// the error message or "ok".
    fn run(src: &str) -> String {
        let src = src.to_string();
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(move || run_here(&src))
            .unwrap()
            .join()
            .unwrap()
    }

    fn run_here(src: &str) -> String {
        let mut vm = new_vm();
        let env = Value::Table(vm.globals);
        let f = match lib_base::load_chunk(&mut vm, src.as_bytes(), "t", env) {
            Ok(f) => f,
            Err(e) => return e,
        };
        match vm.call_value(f, &[], -1) {
            Ok(_) => "ok".into(),
            Err(e) => error_message(&mut vm, e.value),
        }
    }

    #[test]
    fn runtime_error_messages() {
        assert_eq!(
            run("local x; x.y = 1"),
            "t:1: attempt to index a nil value (local 'x')"
        );
        assert_eq!(run("f()"), "t:1: attempt to call a nil value (global 'f')");
        assert_eq!(
            run("local t = {} ; t.a.b = 1"),
            "t:1: attempt to index a nil value (field 'a')"
        );
        assert_eq!(
            run("local t = {}\nreturn t.x + 1"),
            "t:2: attempt to perform arithmetic on a nil value (field 'x')"
        );
        assert_eq!(
            run("return 1 < nil"),
            "t:1: attempt to compare number with nil"
        );
        assert_eq!(
            run("return {} < {}"),
            "t:1: attempt to compare two table values"
        );
        assert_eq!(
            run("table.insert(nil, 1)"),
            "t:1: bad argument #1 to 'insert' (table expected, got nil)"
        );
        assert_eq!(
            run("return ('x'):rep()"),
            "t:1: bad argument #1 to 'rep' (number expected, got no value)"
        );
        assert_eq!(
            run("return 1 & 1.5"),
            "t:1: number has no integer representation"
        );
        assert_eq!(run("return 1 // 0"), "t:1: attempt to divide by zero");
        assert_eq!(
            run("local u; (function() return u.x end)()"),
            "t:1: attempt to index a nil value (upvalue 'u')"
        );
        assert_eq!(
            run("return #nil"),
            "t:1: attempt to get length of a nil value"
        );
        assert_eq!(
            run("return 'a' .. {}"),
            "t:1: attempt to concatenate a table value"
        );
        assert_eq!(run("error('boom')"), "t:1: boom");
        assert_eq!(run("error('boom', 0)"), "boom");
        assert_eq!(run("error({})"), "(error object is a table value)");
        assert_eq!(
            run("for i = 1, 'x' do end"),
            "t:1: bad 'for' limit (number expected, got string)"
        );
    }

    #[test]
    fn stack_overflow_is_a_lua_error() {
        assert_eq!(
            run("local function f() return 1 + f() end f()"),
            "t:1: stack overflow"
        );
        let r = run("local function f() return pcall(f) end return f()");
        assert_eq!(r, "ok");
        // recursion through metamethods is bounded too
        let r = run(
            "local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x",
        );
        assert!(r.ends_with("C stack overflow"), "{}", r);
        let r = run("local function f(s) return (s:gsub('.', f)) end return f('ab')");
        assert!(r.contains("stack overflow"), "{}", r);
    }

    #[test]
    fn syntax_error_messages() {
        assert_eq!(run("x = = 1"), "t:1: unexpected symbol near '='");
        assert_eq!(
            run("goto nowhere"),
            "t:1: no visible label 'nowhere' for <goto> at line 1"
        );
        assert_eq!(
            run("local x <const> = 1; x = 2"),
            "t:1: attempt to assign to const variable 'x'"
        );
        let deep = format!("return {}1{}", "(".repeat(1000), ")".repeat(1000));
        assert_eq!(run(&deep), "C stack overflow");
    }

    #[test]
    fn semantics() {
        assert_eq!(
            run("local fs = {} for i = 1, 3 do fs[i] = function() return i end end assert(fs[1]() + fs[3]() == 4)"),
            "ok"
        );
        assert_eq!(run("assert(math.maxinteger + 1 == math.mininteger) assert(3 == 3.0) assert(7 // -2 == -4)"), "ok");
        assert_eq!(
            run("assert(select('#', (function(...) return ... end)(1, nil, nil)) == 3)"),
            "ok"
        );
        assert_eq!(
            run("local a, b = 1 assert(b == nil) local t = {} t[1], t[2] = 2, 3 assert(t[2] == 3)"),
            "ok"
        );
    }

    #[test]
    fn garbage_input_does_not_panic() {
        let mut seed = 12345u64;
        for _ in 0..200 {
            let mut src = Vec::new();
            for _ in 0..64 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                src.push((seed >> 33) as u8);
            }
            let mut vm = new_vm();
            let env = Value::Table(vm.globals);
            let _ = lib_base::load_chunk(&mut vm, &src, "g", env);
        }
    }
}
