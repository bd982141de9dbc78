//! String → number conversion (lexer numerals, `tonumber`, arithmetic
//! coercion): a thin adapter over [`super::support::number`].

use super::support::number::{self, Number};
use super::value::Value;

/// Converts a whole string (surrounding whitespace allowed) to a number.
pub fn str_to_number(s: &[u8]) -> Option<Value> {
    number::str_to_number(s).map(|n| match n {
        Number::Int(i) => Value::Int(i),
        Number::Float(f) => Value::Num(f),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parse() {
        assert!(matches!(str_to_number(b" 10 "), Some(Value::Int(10))));
        assert!(matches!(str_to_number(b"0x10"), Some(Value::Int(16))));
        assert!(str_to_number(b"inf").is_none());
    }
}
