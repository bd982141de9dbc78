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
pub fn run_source(src: &[u8], chunkname: &str, script: &str, args: &[String]) -> i32 {
    let mut vm = new_vm();
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
    let _ = opts;
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
                run_source(&src, &chunkname, &script, &args)
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
        Err(_) => 70,
    }
}
