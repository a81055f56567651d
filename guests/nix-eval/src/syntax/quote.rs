//! Nix's spelling of literals: quoted strings, attribute names, floats (C's `%g`). Shared by the
//! `--parse` printer and value printing.

/// Quotes a string as a Nix string literal.
pub fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or",
];

/// Prints an attribute name, quoting it unless it is a plain identifier.
pub fn attr_name(s: &str) -> String {
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'\'' | b'-'))
        && !KEYWORDS.contains(&s);
    if ok { s.to_owned() } else { quote_string(s) }
}

/// C's `%g` with precision 6 (how Nix prints floats).
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let p = 6i32;
    let e = format!("{:.*e}", (p - 1) as usize, f);
    let (mant, exp) = e.split_once('e').expect("exp format");
    let x: i32 = exp.parse().expect("exponent");
    if x < -4 || x >= p {
        let mant = strip_zeros(mant);
        format!("{}e{}{:02}", mant, if x < 0 { '-' } else { '+' }, x.abs())
    } else {
        let s = format!("{:.*}", (p - 1 - x).max(0) as usize, f);
        strip_zeros(&s)
    }
}

fn strip_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s.to_owned()
    }
}
