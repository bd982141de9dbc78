//! Compiles a trace in the textual IR and prints the Cranelift IR and the
//! disassembly (VCode text after register allocation).
//!
//! `cargo run -p backend-x86_64 --example dump -- trace.ir [speed]`
//! (reads standard input when no file is given or the file is `-`;
//! `synthetic:N` compiles the benchmark's synthetic trace of N operations).
use backend_x86_64::{BackendSettings, CraneliftBackend, OptLevel};
use meta_tracer::backend::{Backend, CompileOptions};
use std::io::Read;

#[path = "../benches/synthetic.rs"]
mod synthetic;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut text = String::new();
    match args.first().map(String::as_str) {
        Some(s) if s.starts_with("synthetic:") => {}
        None | Some("-") => {
            std::io::stdin()
                .read_to_string(&mut text)
                .expect("read stdin");
        }
        Some(path) => text = std::fs::read_to_string(path).expect("read trace file"),
    }
    if let Some(n) = args.first().and_then(|a| a.strip_prefix("synthetic:")) {
        text = synthetic::synthetic(n.parse().expect("N")).to_text();
    }
    let trace = match meta_tracer::ir_parse::parse_trace(&text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("parse error: {e}");
            std::process::exit(1);
        }
    };
    let mut settings = BackendSettings::default();
    if args.iter().any(|a| a == "speed") {
        settings.opt_level = OptLevel::Speed;
    }
    let mut backend = CraneliftBackend::with_settings(settings).expect("host ISA");
    let opts = CompileOptions {
        count_iterations: true,
        keep_dumps: true,
    };
    match backend.compile(&trace, &opts) {
        Ok(code) => {
            for (title, body) in code.dumps() {
                println!("==== {title} ====\n{body}");
            }
            println!("==== {} bytes of code ====", code.code_size());
        }
        Err(e) => {
            eprintln!("compile error: {e}");
            std::process::exit(1);
        }
    }
}
