//! The code's layers only point down, and no modules import each other in a circle: in the
//! Nix evaluator (`guests/nix-eval`) and in the host (`host`). Read from the source: every
//! path into the crate (`crate::m`, `super::m`) outside comments is an edge; a top-level
//! module may only name modules of lower layers, and the files of one directory module may
//! not name each other in a cycle (a module naming its own parent, or the parent its
//! children, is not a cycle of layers).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The evaluator's layers, lowest first: a module may only use modules of earlier entries.
const NIX_EVAL: &[&[&str]] = &[
    &["source", "heap"],
    &["io"],
    &["error", "git"],
    &["diag", "string"],
    &["syntax"],
    &["compiler"],
    &["value"],
    &["eval"],
    &["builtins"],
    &["jobs"],
    &["value_json"],
    &["cli"],
    &["conformance"],
];

/// The host's layers: the runtime knows nothing of Nix or of the guest's capabilities.
const HOST: &[&[&str]] = &[
    &["runtime", "bindings", "open"],
    &["capabilities"],
    &["sandbox"],
    &["nix_eval"],
    &["cli", "main"],
];

fn src(krate: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src")
}

/// Every `.rs` file below `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The source without comments (doc links are not imports).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .expect("read source")
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segments of the paths after `prefix` (`crate::` or `super::`), including those
/// inside `prefix{a, b::c}` groups.
fn targets(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let names = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end]
                .split(',')
                .map(|s| s.trim().to_owned())
                .collect::<Vec<_>>()
        } else {
            vec![rest.to_owned()]
        };
        for n in names {
            let name: String = n
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// The top-level module a file belongs to (`eval/call.rs` is in `eval`).
fn top_module(src: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(src).expect("below src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_owned()
}

fn only_point_down(krate: &str, layers: &[&[&str]]) {
    let src = src(krate);
    let layer_of: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, names)| names.iter().map(move |n| (*n, i)))
        .collect();
    let mut violations = Vec::new();
    for file in files(&src) {
        let module = top_module(&src, &file);
        if module == "lib" || module == "bin" {
            continue;
        }
        let own = *layer_of
            .get(module.as_str())
            .unwrap_or_else(|| panic!("{krate}: module `{module}` is in no layer"));
        for target in targets(&code(&file), "crate::") {
            let Some(&layer) = layer_of.get(target.as_str()) else {
                continue;
            };
            if target != module && layer >= own {
                violations.push(format!("{} uses crate::{target}", file.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "upward or sideways imports:\n{}",
        violations.join("\n")
    );
}

fn no_sibling_cycle(krate: &str) {
    let src = src(krate);
    // Directory modules: their files and the siblings each names through `super::`.
    let mut dirs: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in files(&src) {
        let dir = file.parent().expect("a parent").to_path_buf();
        let name = file
            .file_stem()
            .expect("a stem")
            .to_string_lossy()
            .into_owned();
        if dir == src || name == "mod" {
            continue;
        }
        let uses = targets(&code(&file), "super::");
        dirs.entry(dir).or_default().insert(name, uses);
    }
    for (dir, graph) in &dirs {
        // Kahn's algorithm over edges between siblings.
        let edges: BTreeMap<&String, BTreeSet<&String>> = graph
            .iter()
            .map(|(from, uses)| {
                (
                    from,
                    uses.iter()
                        .filter_map(|u| graph.get_key_value(u).map(|(k, _)| k))
                        .filter(|to| *to != from)
                        .collect(),
                )
            })
            .collect();
        let mut left = edges.clone();
        while let Some(leaf) = left
            .iter()
            .find(|(_, to)| to.iter().all(|t| !left.contains_key(t)))
            .map(|(k, _)| *k)
        {
            left.remove(leaf);
        }
        assert!(
            left.is_empty(),
            "the files of {} import each other in a cycle: {:?}",
            dir.display(),
            left
        );
    }
}

#[test]
fn the_evaluators_layers_only_point_down() {
    only_point_down("guests/nix-eval", NIX_EVAL);
    no_sibling_cycle("guests/nix-eval");
}

#[test]
fn the_hosts_layers_only_point_down() {
    only_point_down("host", HOST);
    no_sibling_cycle("host");
}

#[test]
fn the_checker_sees_imports() {
    let sample = "use crate::{eval::Evaluator, value};\nuse super::speculate::x; // crate::cli\n";
    let code: String = sample
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        targets(&code, "crate::"),
        ["eval", "value"].map(String::from).into()
    );
    assert_eq!(
        targets(&code, "super::"),
        ["speculate"].map(String::from).into()
    );
}
