use interp_example::cli::Options;

fn usage() -> ! {
    eprintln!("usage: interp-example [--no-jit] [--jit-threshold N] [--jit-stats] [--jit-dump[=FILE]] [PROGRAM [ARGS...]]");
    eprintln!("       interp-example --stm-report STMLOG-FILE");
    std::process::exit(2)
}

fn main() {
    let mut opts = Options::default();
    let mut args = std::env::args().skip(1).peekable();
    let mut rest = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--no-jit" => opts.no_jit = true,
            "--jit-stats" => opts.stats = true,
            "--jit-dump" => opts.dump = Some(None),
            "--jit-threshold" => {
                let n = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| usage());
                opts.threshold = Some(n);
            }
            s if s.starts_with("--jit-dump=") => {
                opts.dump = Some(Some(s["--jit-dump=".len()..].to_string()))
            }
            s if s.starts_with("--jit-threshold=") => {
                opts.threshold = Some(
                    s["--jit-threshold=".len()..]
                        .parse()
                        .unwrap_or_else(|_| usage()),
                )
            }
            "--stm-report" => {
                let file = args.next().unwrap_or_else(|| usage());
                match stm_core::report::render(std::path::Path::new(&file)) {
                    Ok(text) => {
                        print!("{text}");
                        std::process::exit(0)
                    }
                    Err(e) => {
                        eprintln!("interp-example: {e}");
                        std::process::exit(1)
                    }
                }
            }
            "--help" | "-h" => usage(),
            _ => {
                rest.push(a);
                rest.extend(args.by_ref());
            }
        }
    }
    let program = if rest.is_empty() {
        None
    } else {
        Some(rest.remove(0))
    };
    if let Some(p) = program.as_deref().filter(|p| p.ends_with(".fg")) {
        std::process::exit(interp_example::run_flowgraph(p, &rest, &opts));
    }
    let code = interp_example::lua::run_cli(program, rest, &opts);
    std::process::exit(code)
}
