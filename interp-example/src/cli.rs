//! Command-line options shared by every language in `interp-example`.

/// JIT-related settings parsed from the command line (and `METATRACER_*`
/// environment variables, applied by meta-tracer itself).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--no-jit`: run the interpreter alone.
    pub no_jit: bool,
    /// `--jit-threshold N`: loop iterations before tracing starts.
    pub threshold: Option<u32>,
    /// `--jit-stats`: print JIT statistics to stderr on exit.
    pub stats: bool,
    /// `--jit-dump[=FILE]`: dump every trace (None = not requested,
    /// Some(None) = stderr, Some(Some(path)) = file).
    pub dump: Option<Option<String>>,
}
