//! Example interpreters built on meta-tracer: the flowgraph language (the
//! tutorial) and a Lua 5.4 subset.
pub mod cli;
pub mod flowgraph;
pub mod jit;
pub mod lua;

/// Runs a flowgraph program file with `name=value` arguments; prints the
/// result and returns the exit status.
pub fn run_flowgraph(path: &str, args: &[String], opts: &cli::Options) -> i32 {
    let src = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("interp-example: cannot read {path}: {e}");
            return 1;
        }
    };
    let mut prog = match flowgraph::parse(path, &src) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("interp-example: {e}");
            return 1;
        }
    };
    let mut inputs = Vec::new();
    for a in args {
        let Some((k, v)) = a.split_once('=') else {
            eprintln!("interp-example: arguments are name=value, got '{a}'");
            return 2;
        };
        match prog.value(v) {
            Ok(v) => inputs.push((k.to_string(), v)),
            Err(e) => {
                eprintln!("interp-example: {e}");
                return 2;
            }
        }
    }
    let prog = std::rc::Rc::new(prog);
    let p2 = prog.clone();
    let mut jit = jit::driver(opts, move |pc: &u32| p2.location(*pc));
    let result = flowgraph::run(&prog, &inputs, &mut jit);
    if opts.stats {
        eprint!("{}", jit.report());
    }
    match result {
        Ok(v) => {
            println!("{}", prog.show(v));
            0
        }
        Err(e) => {
            eprintln!("interp-example: {e}");
            1
        }
    }
}
