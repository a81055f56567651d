//! NAR tests: Nix's own NARs (testdata/nar, from `nix-store --dump`),
//! malformed input, and proptest round-trips over arbitrary trees.

use std::collections::BTreeMap;
use std::io::Read;

use proptest::prelude::*;

use super::reader::{Event, NarReader};
use super::{Error, Limits, nar_hash_and_size, writer};
use crate::hash::{HashAlgo, NixHash};
use crate::store_path::{FileIngestionMethod, StoreDir};
use crate::wire;

/// A file tree described in memory.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tree {
    File { executable: bool, data: Vec<u8> },
    Symlink(Vec<u8>),
    Dir(BTreeMap<Vec<u8>, Tree>),
}

fn write_node<W: std::io::Write>(node: writer::Node<'_, W>, t: &Tree) -> Result<(), Error> {
    match t {
        Tree::File { executable, data } => node.file_bytes(*executable, data),
        Tree::Symlink(target) => node.symlink(target),
        Tree::Dir(entries) => {
            let mut d = node.directory()?;
            for (name, child) in entries {
                write_node(d.entry(name)?, child)?;
            }
            d.close()
        }
    }
}

pub(crate) fn to_nar(t: &Tree) -> Vec<u8> {
    let mut out = Vec::new();
    write_node(writer::open(&mut out).unwrap(), t).unwrap();
    out
}

/// Parses a NAR back into a tree, streaming file contents in small reads.
fn from_nar(nar: &[u8]) -> Result<Tree, Error> {
    let mut r = NarReader::new(nar);
    let root = read_tree(&mut r)?;
    assert_eq!(r.next_event()?, None);
    r.finish_eof()?;
    Ok(root)
}

fn read_tree<R: Read>(r: &mut NarReader<R>) -> Result<Tree, Error> {
    match r.next_event()?.ok_or(Error::Misuse("early end"))? {
        Event::File { executable, size } => {
            let mut data = Vec::new();
            let mut chunk = [0u8; 7];
            loop {
                let n = r.read_contents(&mut chunk)?;
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&chunk[..n]);
            }
            assert_eq!(data.len() as u64, size);
            Ok(Tree::File { executable, data })
        }
        Event::Symlink(t) => Ok(Tree::Symlink(t)),
        Event::DirStart => {
            let mut entries = BTreeMap::new();
            loop {
                match r.next_event()?.ok_or(Error::Misuse("early end"))? {
                    Event::Entry(name) => {
                        let child = read_tree(r)?;
                        entries.insert(name, child);
                    }
                    Event::DirEnd => return Ok(Tree::Dir(entries)),
                    e => panic!("unexpected {e:?}"),
                }
            }
        }
        e => panic!("unexpected {e:?}"),
    }
}

fn file(executable: bool, data: &[u8]) -> Tree {
    Tree::File {
        executable,
        data: data.to_vec(),
    }
}

/// inputs/tree of the vectors (git cannot hold its empty dir or symlinks).
fn vector_tree() -> Tree {
    let dir = |v: Vec<(&str, Tree)>| {
        Tree::Dir(
            v.into_iter()
                .map(|(k, t)| (k.as_bytes().to_vec(), t))
                .collect(),
        )
    };
    dir(vec![
        (
            "a.txt",
            file(false, include_bytes!("../../testdata/inputs/tree/a.txt")),
        ),
        (
            "bin",
            dir(vec![(
                "run.sh",
                file(
                    true,
                    include_bytes!("../../testdata/inputs/tree/bin/run.sh"),
                ),
            )]),
        ),
        ("empty", dir(vec![])),
        ("link", Tree::Symlink(b"a.txt".to_vec())),
        (
            "sub",
            dir(vec![
                (
                    "b.txt",
                    file(
                        false,
                        include_bytes!("../../testdata/inputs/tree/sub/b.txt"),
                    ),
                ),
                ("uplink", Tree::Symlink(b"../a.txt".to_vec())),
            ]),
        ),
    ])
}

const HELLO_NAR: &[u8] = include_bytes!("../../testdata/nar/hello.txt.nar");
const TREE_NAR: &[u8] = include_bytes!("../../testdata/nar/tree.nar");
const RUN_NAR: &[u8] = include_bytes!("../../testdata/nar/run.sh.nar");
const LINK_NAR: &[u8] = include_bytes!("../../testdata/nar/link.nar");

#[test]
fn writer_matches_nix_dump() {
    let hello = file(false, include_bytes!("../../testdata/inputs/hello.txt"));
    assert_eq!(to_nar(&hello), HELLO_NAR);
    assert_eq!(to_nar(&vector_tree()), TREE_NAR);
    let run = file(
        true,
        include_bytes!("../../testdata/inputs/tree/bin/run.sh"),
    );
    assert_eq!(to_nar(&run), RUN_NAR);
    assert_eq!(to_nar(&Tree::Symlink(b"a.txt".to_vec())), LINK_NAR);
}

#[test]
fn reader_reserialises_nix_nars_identically() {
    for nar in [HELLO_NAR, TREE_NAR, RUN_NAR, LINK_NAR] {
        let t = from_nar(nar).unwrap();
        assert_eq!(to_nar(&t), nar);
    }
    assert_eq!(from_nar(TREE_NAR).unwrap(), vector_tree());
}

#[test]
fn hashes_match_nix() {
    // README §1-§3: nix-hash of the inputs, nix-store -q --hash, path-info.
    let cases: &[(&[u8], &str, u64)] = &[
        (
            HELLO_NAR,
            "sha256:14ml5q1qvx7y3d0n2d1n0j2gdj4s0z54pfj6iwvgnn038ipybsgd",
            128,
        ),
        (
            TREE_NAR,
            "sha256:1g4dsjzjdcqbjly67vc7fnaqdsbfbr8rx9ixh4zx5m57vw4la29y",
            1616,
        ),
        (
            RUN_NAR,
            "sha256:0y12v8swsfkwsvhrkhinx68j7zwdmdjrhgbmq58w8zgasxgv40mh",
            168,
        ),
        (
            LINK_NAR,
            "sha256:10afhdla3fy4d56mfb7b45i291h74jngwakp16wd3r36m37h0g4d",
            120,
        ),
    ];
    for (nar, hash, size) in cases {
        assert_eq!(
            nar_hash_and_size(*nar).unwrap(),
            (NixHash::parse(hash, None).unwrap(), *size)
        );
    }
    assert_eq!(
        NixHash::of(HashAlgo::Sha512, TREE_NAR).to_nix32(),
        "286d487i8lq67wqcqplf1pj3z1sbyklqk47y05528qxxdd49m50lw2hjhvkj5f52rpdcfw2g36g4iar2fc1ym646cmypgm25xr8pf8p"
    );
    // nix-store --add-fixed --recursive sha1 (hello.txt and tree).
    let dir = StoreDir::default();
    for (nar, name, want) in [
        (
            HELLO_NAR,
            "hello.txt",
            "/nix/store/srm64xgkqpv0bjv7a3shpqan69859ljx-hello.txt",
        ),
        (
            TREE_NAR,
            "tree",
            "/nix/store/1z181cs0bk235iiv0q3kg4r0jkilc9xy-tree",
        ),
    ] {
        let h = NixHash::of(HashAlgo::Sha1, nar);
        let p = dir
            .make_fixed_output_path(
                name,
                FileIngestionMethod::Recursive,
                &h,
                &Default::default(),
                false,
            )
            .unwrap();
        assert_eq!(dir.display(&p), want);
    }
}

/// `nix-store -q --hash` of every built output (README §6) against our hash
/// of `nix-store --dump` of it (testdata/out).
#[test]
fn built_output_nars() {
    let want: &[(&str, &str)] = &[
        (
            "2lclj0br9hm10rz3zwfbs9dwnrsfay7y-fod-sri",
            "1xmr8jicvzszfzpz46g37mlpvbzjl2wpwvl2b05psipssyp1sm8h",
        ),
        (
            "5bmb45ngam9546vbfrpf5y172lnwpq88-escapes",
            "1mrj2mqlrppvk2g5k4xhp0q7dgiavh8w8kbaiiy5fj1i5n8nspsn",
        ),
        (
            "8mjgqrsqrzz7n1261dc2ywhpf3p78135-dep-on-fod",
            "1xmr8jicvzszfzpz46g37mlpvbzjl2wpwvl2b05psipssyp1sm8h",
        ),
        (
            "fy6vqq2chs0rvvh228g6kr3jlcwnsgpa-dep",
            "1ywwzs9anykg89ilp7a6sx3dwggnk2kd3yvylm22nxn07vn4j5b0",
        ),
        (
            "mjs27ix6ig2bkbi3s3sm470vrv4lf7ic-hello",
            "1xmr8jicvzszfzpz46g37mlpvbzjl2wpwvl2b05psipssyp1sm8h",
        ),
        (
            "mmfx3v51jxigdpdfwfnxgy919qz73qvh-multi-dev",
            "0qjhf9sg60m9slgxwn8qf0hyaww7fqq8wj019xr6gaw5qrbrz3c6",
        ),
        (
            "p7ifmjbmlqcdf0shcbiil615vjk752wn-multi",
            "0hjjmyvi0305p56f0xv30bvzcgyb9c5pbghg2b0gv048yg2d8f1l",
        ),
        (
            "q93v4jagbls70yk13xc8q59jr05q6yym-structured",
            "1ni2hm51wgbinf1ww80axi23kla2ps603d6b210jps2qdfkg1qdm",
        ),
        (
            "xz6hn7hcym5yz7rbkyjc8z3s7clspq2z-fod-flat",
            "1xmr8jicvzszfzpz46g37mlpvbzjl2wpwvl2b05psipssyp1sm8h",
        ),
        (
            "ycz4b5vrd8c1flnv8gs50ly5n89844jr-fod-rec",
            "1xmr8jicvzszfzpz46g37mlpvbzjl2wpwvl2b05psipssyp1sm8h",
        ),
    ];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/out");
    let mut seen = 0;
    for (name, hash) in want {
        // Reading a checked-in test vector: tests may do I/O, the library may not.
        let nar = std::fs::read(format!("{dir}/{name}.nar")).unwrap();
        let (h, size) = nar_hash_and_size(&nar[..]).unwrap();
        assert_eq!(h.to_nix32(), *hash, "{name}");
        assert_eq!(size, nar.len() as u64);
        assert_eq!(to_nar(&from_nar(&nar).unwrap()), nar);
        seen += 1;
    }
    assert_eq!(seen, std::fs::read_dir(dir).unwrap().count());
}

fn tok(buf: &mut Vec<u8>, toks: &[&[u8]]) {
    for t in toks {
        wire::put_bytes(buf, t);
    }
}

/// A hand-built NAR: magic, then the given tokens.
fn nar_of(toks: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    tok(&mut v, &[b"nix-archive-1"]);
    tok(&mut v, toks);
    v
}

fn parse_err(nar: &[u8]) -> Error {
    match from_nar(nar) {
        Err(e) => e,
        Ok(t) => panic!("accepted {t:?}"),
    }
}

#[test]
fn rejects_malformed() {
    // Wrong magic.
    let mut bad = HELLO_NAR.to_vec();
    bad[8] = b'N';
    assert!(matches!(
        parse_err(&bad),
        Error::UnexpectedToken { offset: 0, .. }
    ));
    // Truncation anywhere.
    for cut in 0..TREE_NAR.len() {
        assert!(from_nar(&TREE_NAR[..cut]).is_err(), "cut at {cut}");
    }
    // Non-zero padding after the magic.
    let mut bad = HELLO_NAR.to_vec();
    bad[23] = 1;
    assert!(matches!(
        parse_err(&bad),
        Error::Wire {
            source: wire::Error::NonZeroPadding { .. },
            ..
        }
    ));
    // Non-zero padding after file contents ("Hello, Nix!\n" is 12 bytes).
    let mut bad = HELLO_NAR.to_vec();
    let pos = HELLO_NAR
        .windows(12)
        .position(|w| w == b"Hello, Nix!\n")
        .unwrap()
        + 12;
    bad[pos] = 1;
    assert!(matches!(
        parse_err(&bad),
        Error::Wire {
            source: wire::Error::NonZeroPadding { len: 12 },
            ..
        }
    ));
    // Trailing data.
    let mut bad = HELLO_NAR.to_vec();
    bad.extend_from_slice(&[0; 8]);
    assert_eq!(parse_err(&bad), Error::TrailingData);
    // Unknown type, executable with a value, unsorted, duplicate, bad names.
    let n = nar_of(&[b"(", b"type", b"fifo", b")"]);
    assert!(matches!(parse_err(&n), Error::UnexpectedToken { .. }));
    let n = nar_of(&[
        b"(",
        b"type",
        b"regular",
        b"executable",
        b"yes",
        b"contents",
    ]);
    assert!(matches!(parse_err(&n), Error::UnexpectedToken { .. }));
    let entry = |name: &'static [u8]| -> Vec<&'static [u8]> {
        vec![
            b"entry", b"(", b"name", name, b"node", b"(", b"type", b"symlink", b"target", b"x",
            b")", b")",
        ]
    };
    for (names, want) in [
        (
            vec![&b"b"[..], b"a"],
            Error::UnsortedEntries {
                prev: "b".into(),
                name: "a".into(),
            },
        ),
        (
            vec![&b"a"[..], b"a"],
            Error::UnsortedEntries {
                prev: "a".into(),
                name: "a".into(),
            },
        ),
        (vec![&b""[..]], Error::InvalidName(String::new())),
        (vec![&b"."[..]], Error::InvalidName(".".into())),
        (vec![&b".."[..]], Error::InvalidName("..".into())),
        (vec![&b"a/b"[..]], Error::InvalidName("a/b".into())),
        (vec![&b"a\0b"[..]], Error::InvalidName("a\0b".into())),
        (
            vec![&[b'x'; 256][..]],
            Error::InvalidName("<256 bytes>".into()),
        ),
    ] {
        let mut toks: Vec<&[u8]> = vec![b"(", b"type", b"directory"];
        for n in names {
            toks.extend(entry(n));
        }
        toks.push(b")");
        assert_eq!(parse_err(&nar_of(&toks)), want);
    }
    // Symlink targets.
    for (target, want) in [
        (&b""[..], Error::InvalidTarget(String::new())),
        (&b"a\0"[..], Error::InvalidTarget("a\0".into())),
        (
            &[b'x'; 4097][..],
            Error::InvalidTarget("<4097 bytes>".into()),
        ),
    ] {
        let n = nar_of(&[b"(", b"type", b"symlink", b"target", target, b")"]);
        assert_eq!(parse_err(&n), want);
    }
    // A 2 GiB "token" is rejected without allocating it.
    let mut n = Vec::new();
    tok(&mut n, &[b"nix-archive-1"]);
    wire::put_u64(&mut n, 1 << 31);
    assert!(matches!(parse_err(&n), Error::UnexpectedToken { .. }));
}

#[test]
fn depth_limit() {
    let mut t = Tree::Dir(BTreeMap::new());
    for _ in 0..9 {
        t = Tree::Dir(BTreeMap::from([(b"d".to_vec(), t)]));
    }
    let nar = to_nar(&t);
    let limits = |max_depth| Limits {
        max_depth,
        ..Limits::default()
    };
    let mut r = NarReader::with_limits(&nar[..], limits(10));
    while r.next_event().unwrap().is_some() {}
    let mut r = NarReader::with_limits(&nar[..], limits(9));
    let err = loop {
        match r.next_event() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("accepted"),
            Err(e) => break e,
        }
    };
    assert_eq!(err, Error::TooDeep(9));
}

#[test]
fn writer_rejects_bad_trees() {
    let mut out = Vec::new();
    let root = writer::open(&mut out).unwrap();
    let mut d = root.directory().unwrap();
    d.entry(b"b").unwrap().symlink(b"x").unwrap();
    assert!(matches!(d.entry(b"a"), Err(Error::UnsortedEntries { .. })));
    assert!(matches!(d.entry(b"b"), Err(Error::UnsortedEntries { .. })));
    for bad in [&b""[..], b".", b"..", b"c/d", b"c\0"] {
        assert!(
            matches!(d.entry(bad), Err(Error::InvalidName(_))),
            "{bad:?}"
        );
    }
    let node = d.entry(b"c").unwrap();
    assert!(matches!(node.symlink(b""), Err(Error::InvalidTarget(_))));
    // The entry's node was not written: the directory cannot go on.
    assert!(matches!(d.entry(b"d"), Err(Error::Misuse(_))));

    for (declared, data) in [
        (5u64, &b"abcd"[..]),
        (3, b"abcd"),
        (70_000, &[1u8; 69_999][..]),
        (70_000, &[1u8; 70_001][..]),
    ] {
        let mut out = Vec::new();
        let err = writer::open(&mut out)
            .unwrap()
            .file(false, declared, &mut &data[..])
            .unwrap_err();
        assert!(
            matches!(err, Error::SizeMismatch { expected, .. } if expected == declared),
            "{err:?}"
        );
    }
}

#[test]
fn large_file_streams() {
    let data: Vec<u8> = (0..300_001u32).map(|i| (i * 7 % 251) as u8).collect();
    let t = file(true, &data);
    let nar = to_nar(&t);
    // magic 24, "(" "type" "regular" 48, "executable" "" 32, "contents" 16, size 8, ")" 16.
    assert_eq!(nar.len(), 144 + data.len() + 7);
    assert_eq!(from_nar(&nar).unwrap(), t);
    // Skipping contents without reading them still validates the rest.
    let mut r = NarReader::new(&nar[..]);
    assert_eq!(
        r.next_event().unwrap(),
        Some(Event::File {
            executable: true,
            size: data.len() as u64
        })
    );
    assert_eq!(r.next_event().unwrap(), None);
    r.finish_eof().unwrap();
}

pub(crate) fn arb_tree() -> impl Strategy<Value = Tree> {
    let name = proptest::collection::vec(
        any::<u8>().prop_filter("no / or NUL", |c| *c != b'/' && *c != 0),
        1..12,
    )
    .prop_filter("not . or ..", |n| n != b"." && n != b"..");
    let leaf = prop_oneof![
        (
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..100)
        )
            .prop_map(|(executable, data)| Tree::File { executable, data }),
        proptest::collection::vec(any::<u8>().prop_filter("no NUL", |c| *c != 0), 1..50)
            .prop_map(Tree::Symlink),
    ];
    leaf.prop_recursive(4, 40, 6, move |inner| {
        proptest::collection::btree_map(name.clone(), inner, 0..6).prop_map(Tree::Dir)
    })
}

proptest! {
    #[test]
    fn roundtrip(t in arb_tree()) {
        let nar = to_nar(&t);
        prop_assert_eq!(from_nar(&nar).unwrap(), t);
        let (h, size) = nar_hash_and_size(&nar[..]).unwrap();
        prop_assert_eq!(h, NixHash::of(HashAlgo::Sha256, &nar));
        prop_assert_eq!(size, nar.len() as u64);
    }

    #[test]
    fn corrupted_never_panics(t in arb_tree(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut nar = to_nar(&t);
        let i = pos.index(nar.len());
        nar[i] = byte;
        if let Ok(t2) = from_nar(&nar) {
            // Whatever parses is canonical.
            prop_assert_eq!(to_nar(&t2), nar);
        }
    }
}

/// A reader that returns at most one byte per call.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0.is_empty() || buf.is_empty() {
            return Ok(0);
        }
        buf[0] = self.0[0];
        self.0 = &self.0[1..];
        Ok(1)
    }
}

#[test]
fn short_reads_and_embedded_nars() {
    // Byte-at-a-time input parses the same.
    let mut r = NarReader::new(Trickle(TREE_NAR));
    let mut n = 0;
    while let Some(ev) = r.next_event().unwrap() {
        if let Event::File { .. } = ev {
            let mut v = Vec::new();
            r.contents().read_to_end(&mut v).unwrap();
        }
        n += 1;
    }
    // root 1, a.txt 2, bin/ 5, empty/ 3, link 2, sub/ 7, root end 1.
    assert_eq!(n, 21);
    r.finish_eof().unwrap();
    // A NAR followed by other data (as on the daemon wire): hashing reads
    // exactly the NAR and leaves the rest.
    let mut stream = HELLO_NAR.to_vec();
    stream.extend_from_slice(b"next message");
    let (h, size) = nar_hash_and_size(&stream[..]).unwrap();
    assert_eq!(
        (h, size),
        (
            NixHash::of(HashAlgo::Sha256, HELLO_NAR),
            HELLO_NAR.len() as u64
        )
    );
    let mut r = NarReader::new(&stream[..]);
    while r.next_event().unwrap().is_some() {}
    assert_eq!(r.finish().unwrap(), b"next message");
    // The file writer accepts short reads too.
    let mut out = Vec::new();
    let data = [7u8; 100_000];
    writer::open(&mut out)
        .unwrap()
        .file(false, data.len() as u64, &mut Trickle(&data))
        .unwrap();
    assert_eq!(from_nar(&out).unwrap(), file(false, &data));
}
