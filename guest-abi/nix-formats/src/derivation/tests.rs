//! Derivation tests against `nix-instantiate` output (testdata/drv,
//! testdata/json; see testdata/README.md) plus proptest round-trips.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proptest::prelude::*;

use super::*;

fn testdata() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata"))
}

/// Every `.drv` under testdata/drv and testdata/drv-extra: (store path, bytes).
fn all_drvs() -> Vec<(StorePath, Vec<u8>)> {
    let mut v = Vec::new();
    for sub in ["drv", "drv-extra"] {
        let Ok(rd) = std::fs::read_dir(testdata().join(sub)) else {
            continue;
        };
        for e in rd {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            if !name.ends_with(".drv") {
                continue;
            }
            v.push((
                StorePath::from_base_name(&name).unwrap(),
                std::fs::read(e.path()).unwrap(),
            ));
        }
    }
    v.sort();
    assert!(v.len() >= 9);
    v
}

fn drv_name(p: &StorePath) -> &str {
    p.name().strip_suffix(".drv").unwrap()
}

/// hashDerivationModulo with inputs resolved from the test vectors.
fn modulo(drv: &Derivation, all: &BTreeMap<StorePath, Derivation>) -> Result<NixHash, Error> {
    let dir = StoreDir::default();
    drv.hash_derivation_modulo(&dir, |p| {
        let input = all.get(p).unwrap_or_else(|| panic!("missing input {p}"));
        modulo(input, all)
    })
}

fn parsed() -> BTreeMap<StorePath, Derivation> {
    let dir = StoreDir::default();
    all_drvs()
        .into_iter()
        .map(|(p, b)| {
            let d = Derivation::from_aterm_bytes(&b, &dir).unwrap_or_else(|e| panic!("{p}: {e}"));
            (p, d)
        })
        .collect()
}

#[test]
fn aterm_roundtrip_is_byte_identical() {
    let dir = StoreDir::default();
    for (p, bytes) in all_drvs() {
        let d = Derivation::from_aterm_bytes(&bytes, &dir).unwrap();
        assert_eq!(d.to_aterm_bytes(&dir), bytes, "{p}");
    }
}

#[test]
fn drv_paths_match_file_names() {
    let dir = StoreDir::default();
    for (p, d) in parsed() {
        assert_eq!(d.drv_path(drv_name(&p), &dir).unwrap(), p);
    }
}

fn drv_hash(drv: &Derivation, all: &BTreeMap<StorePath, Derivation>) -> Result<DrvHash, Error> {
    drv.drv_hash(&StoreDir::default(), |p| drv_hash(&all[p], all))
}

/// `derivationStrict`'s steps (blank outputs, hash modulo, fill in) give
/// back every derivation Nix wrote, including deferred ones.
#[test]
fn recomputed_outputs_equal_nix() {
    let dir = StoreDir::default();
    let all = parsed();
    let mut n = 0;
    for (p, d) in &all {
        if d.outputs
            .values()
            .any(|o| matches!(o, DerivationOutput::Deferred))
        {
            let mut fresh = d.clone();
            fresh
                .compute_output_paths_with_deferral(drv_name(p), &dir, |i| drv_hash(&all[i], &all))
                .unwrap();
            assert_eq!(&fresh, d, "{p}");
            // Without deferral information it would (wrongly) be input-addressed.
            fresh
                .compute_output_paths(drv_name(p), &dir, |i| modulo(&all[i], &all))
                .unwrap();
            assert_ne!(&fresh, d, "{p}");
            continue;
        }
        let mut fresh = d.clone();
        for (name, o) in fresh.outputs.iter_mut() {
            if matches!(o, DerivationOutput::InputAddressed(_)) {
                *o = DerivationOutput::Deferred;
            }
            fresh.env.insert(name.clone(), "garbage".into());
        }
        fresh
            .compute_output_paths(drv_name(p), &dir, |i| modulo(&all[i], &all))
            .unwrap();
        assert_eq!(&fresh, d, "{p}");
        n += 1;
    }
    assert!(n >= 25, "{n}");
    let deferred =
        StorePath::from_base_name("za7sp2c08hghhf4fl630wm8mi6pxlhjg-deferred.drv").unwrap();
    assert!(drv_hash(&all[&deferred], &all).unwrap().deferred);
}

/// `nix-store -q --outputs` of each vector: README §5 and
/// testdata/drv-extra/outputs.txt.
#[test]
fn output_paths_match_nix() {
    let all = parsed();
    let mut want: Vec<(String, Vec<String>)> = [
        (
            "76w21n1f03fs5kw8fnffphx7qrqffw6r-hello.drv",
            &["mjs27ix6ig2bkbi3s3sm470vrv4lf7ic-hello"][..],
        ),
        (
            "yi91mzsi826p8fn6182iarh1n2vp28pi-multi.drv",
            &[
                "mmfx3v51jxigdpdfwfnxgy919qz73qvh-multi-dev",
                "p7ifmjbmlqcdf0shcbiil615vjk752wn-multi",
            ],
        ),
        (
            "9ydcddyzsz665krxr6mpjja38557b9bl-fod-flat.drv",
            &["xz6hn7hcym5yz7rbkyjc8z3s7clspq2z-fod-flat"],
        ),
        (
            "1afwshbkgwbcxqccnhv0l7dd2v6qpk95-fod-rec.drv",
            &["ycz4b5vrd8c1flnv8gs50ly5n89844jr-fod-rec"],
        ),
        (
            "sd7n0xwvax1904qry9mlnf1bjhdw9f7k-fod-sri.drv",
            &["2lclj0br9hm10rz3zwfbs9dwnrsfay7y-fod-sri"],
        ),
        (
            "jxs8q3a23mclyfrpbyzljsk8q7y5s13f-dep.drv",
            &["fy6vqq2chs0rvvh228g6kr3jlcwnsgpa-dep"],
        ),
        (
            "wchrg66w4jmw6c0fjw2x5ka7qj26h8il-escapes.drv",
            &["5bmb45ngam9546vbfrpf5y172lnwpq88-escapes"],
        ),
        (
            "il0m0drj2f2npr1iipzg8grzrvsfipyn-structured.drv",
            &["q93v4jagbls70yk13xc8q59jr05q6yym-structured"],
        ),
        (
            "9az8znz78dx5h15akaar2mmpwa6558fs-dep-on-fod.drv",
            &["8mjgqrsqrzz7n1261dc2ywhpf3p78135-dep-on-fod"],
        ),
    ]
    .iter()
    .map(|(d, o)| (d.to_string(), o.iter().map(|s| s.to_string()).collect()))
    .collect();
    let extra = std::fs::read_to_string(testdata().join("drv-extra/outputs.txt")).unwrap();
    for line in extra.lines() {
        let mut words = line.split_whitespace().map(str::to_owned);
        let drv = words.next().unwrap();
        want.push((drv, words.collect()));
    }
    assert!(want.len() >= 24);
    let dir = StoreDir::default();
    for (drv, outs) in &want {
        let p = StorePath::from_base_name(drv).unwrap();
        let d = &all[&p];
        let mut got: Vec<String> = Vec::new();
        for (name, o) in &d.outputs {
            let path = match o {
                DerivationOutput::InputAddressed(path) => {
                    // Output paths come from the hash of the masked derivation.
                    let mut masked = d.clone();
                    for (n, o) in masked.outputs.iter_mut() {
                        *o = DerivationOutput::Deferred;
                        masked.env.insert(n.clone(), String::new());
                    }
                    let h = modulo(&masked, &all).unwrap();
                    let computed = dir.make_output_path(name, &h, drv_name(&p)).unwrap();
                    assert_eq!(&computed, path, "{drv} {name}");
                    computed
                }
                DerivationOutput::Fixed { path, method, hash } => {
                    let out_name = crate::store_path::output_path_name(drv_name(&p), name);
                    let computed = dir
                        .make_fixed_output_path(&out_name, *method, hash, &BTreeSet::new(), false)
                        .unwrap();
                    assert_eq!(&computed, path, "{drv} {name}");
                    computed
                }
                o => panic!("{drv}: unexpected {o:?}"),
            };
            got.push(path.to_string());
        }
        got.sort();
        assert_eq!(&got, outs, "{drv}");
    }
}

/// Two different fixed-output inputs with the same output path have the same
/// modulo hash; Nix merges them into one entry of the hashed ATerm.
#[test]
fn twin_fixed_inputs_are_merged() {
    let all = parsed();
    let twins =
        StorePath::from_base_name("1jcmk2ndwz737l3iymxl1axsdwjcxhjd-dep-on-twins.drv").unwrap();
    let d = &all[&twins];
    assert_eq!(d.input_derivations.len(), 2);
    let hashes: BTreeSet<NixHash> = d
        .input_derivations
        .keys()
        .map(|i| modulo(&all[i], &all).unwrap())
        .collect();
    assert_eq!(hashes.len(), 1);
}

#[test]
fn show_derivation_json_matches_nix() {
    let dir = StoreDir::default();
    let all = parsed();
    let mut n = 0;
    for sub in ["json", "json-extra"] {
        let Ok(rd) = std::fs::read_dir(testdata().join(sub)) else {
            continue;
        };
        for e in rd {
            let e = e.unwrap();
            if !e
                .file_name()
                .to_string_lossy()
                .ends_with(".show-derivation.json")
            {
                continue;
            }
            let want = std::fs::read_to_string(e.path()).unwrap();
            // The first line after "{" holds the drv path as the only key.
            let key = want.lines().nth(1).unwrap().trim();
            let abs = key.trim_start_matches('"').split('"').next().unwrap();
            let p = dir.parse(abs).unwrap();
            assert_eq!(
                all[&p].to_show_json(&p, &dir),
                want,
                "{}",
                e.path().display()
            );
            n += 1;
        }
    }
    assert!(n >= 9);
}

#[test]
fn fixed_output_modulo_is_fixed_string() {
    let all = parsed();
    let p = StorePath::from_base_name("9ydcddyzsz665krxr6mpjja38557b9bl-fod-flat.drv").unwrap();
    let want = NixHash::of(
        HashAlgo::Sha256,
        b"fixed:out:sha256:98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4:/nix/store/xz6hn7hcym5yz7rbkyjc8z3s7clspq2z-fod-flat",
    );
    assert_eq!(modulo(&all[&p], &all), Ok(want));
}

#[test]
fn rejects_malformed() {
    let dir = StoreDir::default();
    let hello =
        std::fs::read_to_string(testdata().join("drv/76w21n1f03fs5kw8fnffphx7qrqffw6r-hello.drv"))
            .unwrap();
    let parse = |s: &str| Derivation::from_aterm_bytes(s.as_bytes(), &dir);
    type Check = fn(&Error) -> bool;
    let cases: Vec<(String, Check)> = vec![
        (hello.replace("Derive(", "Derivx("), |e| matches!(e, Error::Syntax { offset: 0, .. })),
        (format!("{hello} "), |e| matches!(e, Error::Syntax { .. })),
        (hello[..hello.len() - 1].to_string(), |e| matches!(e, Error::Syntax { .. })),
        (hello.replace("echo hi", "echo \\x hi"), |e| matches!(e, Error::InvalidEscape { escape: 'x', .. })),
        (hello.replace("echo hi", "echo\thi"), |e| matches!(e, Error::Syntax { .. })),
        (hello.replace("echo hi", "echo\nhi"), |e| matches!(e, Error::Syntax { .. })),
        (
            hello.replace("(\"builder\",\"/bin/sh\"),(\"name\",\"hello\")", "(\"name\",\"hello\"),(\"builder\",\"/bin/sh\")"),
            |e| matches!(e, Error::Unsorted { what: "environment", .. }),
        ),
        (hello.replace("/nix/store/mjs27ix6ig2bkbi3s3sm470vrv4lf7ic-hello\",\"\"", "/tmp/x\",\"\""), |e| {
            matches!(e, Error::StorePath(_))
        }),
        (hello.replace("-hello\",\"\",\"\")]", "-hello\",\"\",\"abc\")]"), |e| matches!(e, Error::InvalidOutput { .. })),
        (hello.replace("-hello\",\"\",\"\")]", "-hello\",\"md4\",\"abc\")]"), |e| matches!(e, Error::Hash { .. })),
        (hello.replace("-hello\",\"\",\"\")]", "-hello\",\"sha256\",\"abc\")]"), |e| matches!(e, Error::InvalidOutput { .. })),
        (hello.replace("Derive([(\"out\",\"/nix/store/mjs27ix6ig2bkbi3s3sm470vrv4lf7ic-hello\",\"\",\"\")]", "Derive([]"), |e| {
            matches!(e, Error::NoOutputs)
        }),
        ("Derive([(\"out\"".to_string(), |e| matches!(e, Error::Syntax { .. })),
        (String::new(), |e| matches!(e, Error::Syntax { .. })),
    ];
    for (input, check) in cases {
        let err = parse(&input).expect_err(&input);
        assert!(check(&err), "{input}: {err:?}");
    }
    let mut bytes = hello.into_bytes();
    let at = bytes.windows(4).position(|w| w == b"echo").unwrap();
    bytes[at] = 0xff;
    assert!(matches!(
        Derivation::from_aterm_bytes(&bytes, &dir),
        Err(Error::NotUtf8(_))
    ));
}

#[test]
fn placeholder_matches_nix() {
    // builtins.placeholder "out" in Nix 2.8.
    assert_eq!(
        hash_placeholder("out"),
        "/1rz4g4znpzjwh1xymhjpm42vipw92pr73vdgl6xs1hycac8kf2n9"
    );
}

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ]{0,12}",
        any::<String>(),
        proptest::collection::vec(
            prop::sample::select(vec!['"', '\\', '\n', '\r', '\t', 'a', 'é', '\u{1}']),
            0..10
        )
        .prop_map(|v| v.into_iter().collect()),
    ]
}

fn arb_path(suffix: &'static str) -> impl Strategy<Value = StorePath> {
    (any::<[u8; 20]>(), "[a-z][a-z0-9.-]{0,10}")
        .prop_map(move |(d, n)| StorePath::new(d, &format!("{n}{suffix}")).unwrap())
}

fn arb_output() -> impl Strategy<Value = DerivationOutput> {
    let method = prop_oneof![
        Just(FileIngestionMethod::Flat),
        Just(FileIngestionMethod::Recursive)
    ];
    let algo = prop::sample::select(HashAlgo::ALL.to_vec());
    prop_oneof![
        arb_path("").prop_map(DerivationOutput::InputAddressed),
        (
            arb_path(""),
            method.clone(),
            algo.clone(),
            any::<[u8; 64]>()
        )
            .prop_map(|(path, method, algo, d)| {
                DerivationOutput::Fixed {
                    path,
                    method,
                    hash: NixHash::new(algo, &d[..algo.digest_len()]).unwrap(),
                }
            }),
        (method.clone(), algo.clone())
            .prop_map(|(method, algo)| DerivationOutput::Floating { method, algo }),
        (method, algo).prop_map(|(method, algo)| DerivationOutput::Impure { method, algo }),
        Just(DerivationOutput::Deferred),
    ]
}

pub(crate) fn arb_derivation() -> impl Strategy<Value = Derivation> {
    (
        proptest::collection::btree_map("[a-z]{1,6}", arb_output(), 1..4),
        proptest::collection::btree_map(
            arb_path(".drv"),
            proptest::collection::btree_set("[a-z]{1,5}", 1..3),
            0..3,
        ),
        proptest::collection::btree_set(arb_path(""), 0..3),
        (
            arb_string(),
            arb_string(),
            proptest::collection::vec(arb_string(), 0..4),
        ),
        proptest::collection::btree_map(arb_string(), arb_string(), 0..5),
    )
        .prop_map(
            |(outputs, input_derivations, input_sources, (platform, builder, args), env)| {
                Derivation {
                    outputs,
                    input_derivations,
                    input_sources,
                    platform,
                    builder,
                    args,
                    env,
                }
            },
        )
}

proptest! {
    #[test]
    fn aterm_roundtrip(d in arb_derivation()) {
        let dir = StoreDir::default();
        let bytes = d.to_aterm_bytes(&dir);
        prop_assert_eq!(Derivation::from_aterm_bytes(&bytes, &dir).unwrap(), d);
    }

    #[test]
    fn aterm_parser_never_panics(d in arb_derivation(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let dir = StoreDir::default();
        let mut bytes = d.to_aterm_bytes(&dir);
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        if let Ok(d2) = Derivation::from_aterm_bytes(&bytes, &dir) {
            prop_assert_eq!(d2.to_aterm_bytes(&dir), bytes);
        }
    }

    #[test]
    fn show_json_is_valid_json(d in arb_derivation(), p in arb_path(".drv")) {
        let dir = StoreDir::default();
        let s = d.to_show_json(&p, &dir);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        let obj = &v[dir.display(&p)];
        prop_assert_eq!(obj["env"].as_object().unwrap().len(), d.env.len());
        prop_assert_eq!(obj["args"].as_array().unwrap().len(), d.args.len());
        let set: BTreeSet<String> = obj["outputs"].as_object().unwrap().keys().cloned().collect();
        prop_assert_eq!(set, d.outputs.keys().cloned().collect::<BTreeSet<_>>());
    }
}
