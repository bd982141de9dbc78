//! Number → string conversion used by `tostring`/`print`/concat: a thin
//! adapter over [`super::support::format`].

/// Lua's `%.14g` plus `.0` for integral floats (`LUAI_NUMFFORMAT`).
pub fn fmt_float(f: f64) -> String {
    super::support::format::float_to_string(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn g14() {
        assert_eq!(fmt_float(5.0), "5.0");
        assert_eq!(fmt_float(1e15), "1e+15");
        assert_eq!(fmt_float(-0.0), "-0.0");
    }
}
