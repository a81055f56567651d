//! "Did you mean …?": suggestions of similar names for a missing attribute or argument.

use std::fmt::Write as _;

/// Appends Nix's "Did you mean …?" to `msg`: the `candidates` within an edit distance of two
/// of `name`, sorted.
pub(crate) fn did_you_mean<'a>(
    msg: &mut String,
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) {
    let mut sugg: Vec<&str> = candidates
        .into_iter()
        .filter(|n| !n.is_empty() && levenshtein(n, name) <= 2)
        .collect();
    sugg.sort();
    match sugg.len() {
        0 => {}
        1 => {
            let _ = write!(msg, "\nDid you mean {}?", sugg[0]);
        }
        _ => {
            let last = sugg.pop().expect("nonempty");
            let _ = write!(
                msg,
                "\nDid you mean one of {} or {}?",
                sugg.join(", "),
                last
            );
        }
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = if a[i - 1] == b[j - 1] { 0 } else { 1 };
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}
