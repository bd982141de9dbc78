//! Building a JIT driver from command-line options.

use crate::cli::Options;
use meta_tracer::prelude::*;

/// The JIT settings: defaults, then `METATRACER_*` environment variables,
/// then command-line flags.
pub fn config(opts: &Options) -> JitConfig {
    let mut c = JitConfig::from_env();
    if opts.no_jit {
        c.enabled = false;
    }
    if let Some(n) = opts.threshold {
        set_threshold(&mut c, n);
    }
    match &opts.dump {
        Some(None) => c.dump = Some(DumpTarget::Stderr),
        Some(Some(f)) => c.dump = Some(DumpTarget::File(f.into())),
        None => {}
    }
    c
}

/// Sets the hot-loop threshold (`--jit-threshold N`). Threshold 1 means
/// "compile everything at once" (the differential tests' third mode, in
/// which every trace's machine code and side exits run): no probation in
/// the IR interpreter either.
pub fn set_threshold(c: &mut JitConfig, n: u32) {
    c.threshold = n.max(1);
    if n <= 1 {
        c.probation_entries = 0;
    }
}

/// The machine-code backend (Cranelift, x86-64), created when the first
/// trace is compiled (a program without hot loops never pays for it). If
/// the host cannot be targeted, falls back to the IR interpreter backend
/// with a warning.
pub fn backend() -> Box<dyn Backend> {
    Box::new(LazyBackend::new(
        "cranelift-x86_64",
        || match backend_x86_64::CraneliftBackend::new() {
            Ok(b) => Box::new(b),
            Err(e) => {
                eprintln!(
                    "interp-example: native backend unavailable ({e}); using the IR interpreter"
                );
                Box::new(IrInterpreter)
            }
        },
    ))
}

/// A driver for an interpreter whose green key is `G`.
pub fn driver<G: meta_tracer::driver::Green>(
    opts: &Options,
    printer: impl Fn(&G) -> String + 'static,
) -> JitDriver<G> {
    JitDriver::new(config(opts), backend(), printer)
}
