//! Differential tests against the real Nix on this machine: random file trees
//! (arbitrary byte names, executables, symlinks, empty directories, sizes
//! around the 8-byte padding) written to a temporary directory, then our NAR
//! and hashes compared with `nix-store --dump` and `nix-hash`.
//!
//! Skipped when `nix-store` is not installed, unless `EVALBOX_REQUIRE_NIX=1`
//! (CI sets it), in which case a missing Nix is a failure.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use nix_formats::nar::writer;
use nix_formats::{HashAlgo, NixHash};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Tree {
    File { executable: bool, data: Vec<u8> },
    Symlink(Vec<u8>),
    Dir(BTreeMap<Vec<u8>, Tree>),
}

fn nix_available() -> bool {
    let found = Command::new("nix-store")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var("EVALBOX_REQUIRE_NIX").as_deref() == Ok("1") {
        panic!("EVALBOX_REQUIRE_NIX=1 but nix-store is not available");
    }
    if !found {
        eprintln!("skipping: nix-store not found");
    }
    found
}

fn materialise(path: &Path, t: &Tree) {
    match t {
        Tree::File { executable, data } => {
            std::fs::write(path, data).unwrap();
            let mode = if *executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        Tree::Symlink(target) => {
            std::os::unix::fs::symlink(OsStr::from_bytes(target), path).unwrap()
        }
        Tree::Dir(entries) => {
            std::fs::create_dir(path).unwrap();
            for (name, child) in entries {
                materialise(&path.join(OsStr::from_bytes(name)), child);
            }
        }
    }
}

fn write_node<W: std::io::Write>(node: writer::Node<'_, W>, t: &Tree) {
    match t {
        Tree::File { executable, data } => node.file_bytes(*executable, data).unwrap(),
        Tree::Symlink(target) => node.symlink(target).unwrap(),
        Tree::Dir(entries) => {
            let mut d = node.directory().unwrap();
            for (name, child) in entries {
                write_node(d.entry(name).unwrap(), child);
            }
            d.close().unwrap();
        }
    }
}

fn arb_tree() -> impl Strategy<Value = Tree> {
    let name = prop_oneof![
        "[a-zA-Z0-9._-]{1,12}".prop_map(|s| s.into_bytes()),
        "\\PC{1,6}".prop_map(|s| s.into_bytes()),
        proptest::collection::vec(1u8..=255, 1..10),
    ]
    .prop_filter("valid name", |n| {
        n != b"." && n != b".." && !n.contains(&b'/')
    });
    let leaf = prop_oneof![
        (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(executable, data)| Tree::File { executable, data }),
        proptest::collection::vec(1u8..=255, 1..40).prop_map(Tree::Symlink),
    ];
    leaf.prop_recursive(3, 30, 5, move |inner| {
        proptest::collection::btree_map(name.clone(), inner, 0..5).prop_map(Tree::Dir)
    })
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn nar_and_hashes_match_nix(t in arb_tree()) {
        if !nix_available() {
            return Ok(());
        }
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        materialise(&root, &t);

        let mut ours = Vec::new();
        write_node(writer::open(&mut ours).unwrap(), &t);
        let theirs = run(Command::new("nix-store").arg("--dump").arg(&root));
        prop_assert_eq!(&ours, &theirs);

        for algo in HashAlgo::ALL {
            let want = run(Command::new("nix-hash").args(["--type", algo.as_str(), "--base32"]).arg(&root));
            let want = String::from_utf8(want).unwrap();
            prop_assert_eq!(NixHash::of(algo, &ours).to_nix32(), want.trim());
        }
    }
}

/// A random derivation as `derivation` attributes (all strings or lists of
/// strings, so they go through JSON unchanged).
#[derive(Debug, Clone)]
struct DrvAttrs {
    name: String,
    args: Vec<String>,
    outputs: Option<Vec<String>>,
    fixed: Option<(String, Option<&'static str>, Option<&'static str>)>,
    extra: BTreeMap<String, String>,
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z $]{0,10}",
        "[^\u{0}]{0,12}",
        proptest::collection::vec(
            prop::sample::select(vec![
                "\"", "\\", "\n", "\r", "\t", "$", "${", "é", "\u{1}", "\u{7f}", "x"
            ]),
            0..8
        )
        .prop_map(|v| v.concat()),
    ]
}

fn arb_fixed() -> impl Strategy<Value = (String, Option<&'static str>, Option<&'static str>)> {
    (
        prop::sample::select(HashAlgo::ALL.to_vec()),
        any::<[u8; 64]>(),
        prop::sample::select(vec![None, Some("flat"), Some("recursive")]),
        0..4u8,
    )
        .prop_map(|(algo, bytes, mode, form)| {
            let h = NixHash::new(algo, &bytes[..algo.digest_len()]).unwrap();
            match form {
                0 => (h.to_base16(), Some(algo.as_str()), mode),
                1 => (h.to_nix32(), Some(algo.as_str()), mode),
                2 => (h.to_sri(), None, mode),
                _ => (h.to_typed_base16(), Some(algo.as_str()), mode),
            }
        })
}

fn arb_drv_attrs() -> impl Strategy<Value = DrvAttrs> {
    (
        "[a-zA-Z0-9+._?=-]{1,20}".prop_filter("no leading dot", |s| !s.starts_with('.')),
        proptest::collection::vec(arb_text(), 0..4),
        proptest::option::of(proptest::collection::btree_set("[a-z]{1,5}", 1..4)),
        proptest::option::weighted(0.4, arb_fixed()),
        proptest::collection::btree_map("k_[a-zA-Z0-9_]{0,8}", arb_text(), 0..5),
    )
        .prop_map(|(name, args, outputs, fixed, extra)| DrvAttrs {
            name,
            args,
            outputs: if fixed.is_some() {
                None
            } else {
                outputs.map(|s| s.into_iter().collect())
            },
            fixed,
            extra,
        })
}

fn json_attrs(a: &DrvAttrs) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("name".into(), a.name.clone().into());
    m.insert("system".into(), "x86_64-linux".into());
    m.insert("builder".into(), "/bin/sh".into());
    m.insert("args".into(), a.args.clone().into());
    if let Some(o) = &a.outputs {
        m.insert("outputs".into(), o.clone().into());
    }
    if let Some((hash, algo, mode)) = &a.fixed {
        m.insert("outputHash".into(), hash.clone().into());
        if let Some(algo) = algo {
            m.insert("outputHashAlgo".into(), (*algo).into());
        }
        if let Some(mode) = mode {
            m.insert("outputHashMode".into(), (*mode).into());
        }
    }
    for (k, v) in &a.extra {
        m.insert(k.clone(), v.clone().into());
    }
    serde_json::Value::Object(m)
}

/// What `derivationStrict` builds from these attributes, done by us.
fn our_derivation(a: &DrvAttrs) -> nix_formats::Derivation {
    use nix_formats::derivation::{Derivation, DerivationOutput, Error};
    use nix_formats::store_path::StoreDir;
    let dir = StoreDir::default();
    let mut d = Derivation {
        platform: "x86_64-linux".into(),
        builder: "/bin/sh".into(),
        args: a.args.clone(),
        ..Default::default()
    };
    let json = json_attrs(a);
    for (k, v) in json.as_object().unwrap() {
        let s = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(l) => l
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" "),
            _ => unreachable!(),
        };
        if k != "args" {
            d.env.insert(k.clone(), s);
        }
    }
    match &a.fixed {
        Some((hash, algo, mode)) => {
            let algo = algo.map(|s| s.parse().unwrap());
            let h = NixHash::parse(hash, algo).unwrap();
            let method = if *mode == Some("recursive") {
                nix_formats::FileIngestionMethod::Recursive
            } else {
                nix_formats::FileIngestionMethod::Flat
            };
            let o = DerivationOutput::fixed(&dir, &a.name, "out", method, h).unwrap();
            d.outputs.insert("out".into(), o);
        }
        None => {
            let outs = a.outputs.clone().unwrap_or_else(|| vec!["out".into()]);
            for o in outs {
                d.outputs.insert(o, DerivationOutput::Deferred);
            }
        }
    }
    d.compute_output_paths::<Error>(&a.name, &dir, |_| unreachable!("no inputs"))
        .unwrap();
    d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// `nix-instantiate` of random derivations (escapes, unicode, several
    /// outputs, fixed outputs of every algorithm/mode/hash spelling) gives
    /// the same `.drv` bytes and path as our derivationStrict steps, and
    /// `nix show-derivation` the same JSON.
    #[test]
    fn derivations_match_nix_instantiate(a in arb_drv_attrs()) {
        if !nix_available() {
            return Ok(());
        }
        let tmp = tempfile::tempdir().unwrap();
        let json = tmp.path().join("attrs.json");
        std::fs::write(&json, serde_json::to_vec(&json_attrs(&a)).unwrap()).unwrap();
        let expr = format!("derivation (builtins.fromJSON (builtins.readFile {}))", json.display());
        let out = run(Command::new("nix-instantiate").args(["--expr", &expr]));
        let drv_path = String::from_utf8(out).unwrap();
        let drv_path = drv_path.trim().split('!').next().unwrap().to_owned();
        let theirs = std::fs::read(&drv_path).unwrap();

        let dir = nix_formats::StoreDir::default();
        let ours = our_derivation(&a);
        let ours_bytes = ours.to_aterm_bytes(&dir);
        prop_assert_eq!(String::from_utf8_lossy(&ours_bytes), String::from_utf8_lossy(&theirs));
        let p = ours.drv_path(&a.name, &dir).unwrap();
        prop_assert_eq!(dir.display(&p), drv_path.clone());
        let json = run(Command::new("nix")
            .args(["--extra-experimental-features", "nix-command", "show-derivation", &drv_path]));
        prop_assert_eq!(ours.to_show_json(&p, &dir), String::from_utf8(json).unwrap());
    }
}
