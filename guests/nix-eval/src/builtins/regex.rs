//! POSIX extended regular expressions (what Nix's `match`/`split` use via `std::regex`)
//! translated to the `regex` crate's syntax, with a per-thread cache of compiled regexes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

thread_local! {
    static CACHE: RefCell<HashMap<(String, bool), Rc<regex::Regex>>> = RefCell::new(HashMap::new());
}

/// Translates a POSIX ERE to `regex` syntax.
pub fn translate(re: &str) -> String {
    let mut out = String::with_capacity(re.len() + 8);
    let chars: Vec<char> = re.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '[' => {
                // bracket expression: copy, escaping what `regex` treats specially
                out.push('[');
                i += 1;
                if i < chars.len() && chars[i] == '^' {
                    out.push('^');
                    i += 1;
                }
                if i < chars.len() && chars[i] == ']' {
                    out.push_str("\\]");
                    i += 1;
                }
                while i < chars.len() && chars[i] != ']' {
                    if chars[i] == '['
                        && i + 1 < chars.len()
                        && matches!(chars[i + 1], ':' | '=' | '.')
                    {
                        let close = chars[i + 1];
                        let start = i;
                        i += 2;
                        while i + 1 < chars.len() && !(chars[i] == close && chars[i + 1] == ']') {
                            i += 1;
                        }
                        let body: String = chars[start..(i + 2).min(chars.len())].iter().collect();
                        out.push_str(&body);
                        i += 2;
                        continue;
                    }
                    match chars[i] {
                        '\\' | '[' | '&' | '~' | '|' => {
                            out.push('\\');
                            out.push(chars[i]);
                        }
                        '-' if i + 1 < chars.len() && chars[i + 1] == '-' => {
                            out.push_str("\\-");
                        }
                        ch => out.push(ch),
                    }
                    i += 1;
                }
                out.push(']');
                i += 1;
            }
            '\\' if i + 1 < chars.len() => {
                out.push('\\');
                out.push(chars[i + 1]);
                i += 2;
            }
            '{' => {
                // a brace that does not start a valid repetition is literal
                let rest: String = chars[i..].iter().collect();
                let valid = rest
                    .find('}')
                    .map(|e| {
                        let inner = &rest[1..e];
                        !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit() || c == ',')
                    })
                    .unwrap_or(false);
                if valid {
                    out.push('{');
                } else {
                    out.push_str("\\{");
                }
                i += 1;
            }
            '}' => {
                out.push('}');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Compiles (cached) a POSIX ERE; `anchored` makes it match the whole string.
pub fn compile(re: &str, anchored: bool) -> Result<Rc<regex::Regex>, String> {
    let key = (re.to_owned(), anchored);
    if let Some(r) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(r);
    }
    let t = translate(re);
    let src = if anchored {
        format!("^(?s:{t})$")
    } else {
        format!("(?s:{t})")
    };
    let r = regex::Regex::new(&src).map_err(|_| format!("invalid regular expression '{re}'"))?;
    let r = Rc::new(r);
    CACHE.with(|c| c.borrow_mut().insert(key, r.clone()));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_brackets() {
        let r = compile("[[:alpha:]]+", true).unwrap();
        assert!(r.is_match("abc"));
        let r = compile("a{", true).unwrap();
        assert!(r.is_match("a{"));
        let r = compile("[]a]", true).unwrap();
        assert!(r.is_match("]"));
        let r = compile("[\\]", true).unwrap();
        assert!(r.is_match("\\"));
    }
}
