//! Finding the end of a NAR sent without a length.
//!
//! `NarFromPath` replies with the bare NAR serialisation: no length, no framing, so the only way
//! to know where it ends (and where the next reply starts) is to follow the NAR grammar.
//! [`copy_nar`] drives the formats crate's grammar ([`nix_formats::nar::parser::Parser`], the
//! same one every NAR reader of evalbox uses) over the async socket: it reads exactly the bytes
//! the grammar asks for, bounded by its limits, forwards every byte to a sink, and stops right
//! after the root node's closing token.

use std::io;

use nix_formats::nar::Limits;
use nix_formats::nar::parser::{Need, Parser};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{Error, Result};

/// The largest chunk of file contents read at once.
const CHUNK: usize = 64 * 1024;

/// Reads one NAR from `r`, validating it, and passes its bytes to `sink` in order. Returns the
/// NAR's size. Reads nothing after the NAR's last byte.
pub async fn copy_nar<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    limits: &Limits,
    sink: &mut (dyn FnMut(&[u8]) -> io::Result<()> + Send),
) -> Result<u64> {
    let mut parser = Parser::new(*limits);
    // What was read and not yet passed on: small tokens are passed on together.
    let mut out: Vec<u8> = Vec::with_capacity(2 * CHUNK);
    loop {
        let n = match parser.need() {
            Need::Done => {
                sink(&out).map_err(Error::Io)?;
                return Ok(parser.offset());
            }
            Need::Bytes(n) => n,
            Need::Contents(left) => usize::try_from(left).map_or(CHUNK, |left| left.min(CHUNK)),
        };
        if out.len() + n > 2 * CHUNK {
            sink(&out).map_err(Error::Io)?;
            out.clear();
        }
        let start = out.len();
        out.resize(start + n, 0);
        match r.read_exact(&mut out[start..]).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(Error::Eof("a NAR")),
            Err(e) => return Err(Error::Io(e)),
        }
        let bad = |e: nix_formats::nar::Error| Error::BadNar(e.to_string());
        match parser.need() {
            Need::Contents(_) => parser.contents_read(n as u64).map_err(bad)?,
            _ => {
                parser.feed(&out[start..]).map_err(bad)?;
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::wire::Request;
    use proptest::prelude::*;

    /// A tree for generating NARs in tests.
    #[derive(Debug, Clone)]
    pub enum Tree {
        File(bool, Vec<u8>),
        Link(String),
        Dir(Vec<(String, Tree)>),
    }

    pub fn encode(t: &Tree) -> Vec<u8> {
        fn node(req: &mut Request, t: &Tree) {
            req.bytes("(").bytes("type");
            match t {
                Tree::File(x, data) => {
                    req.bytes("regular");
                    if *x {
                        req.bytes("executable").bytes("");
                    }
                    req.bytes("contents").bytes(data);
                }
                Tree::Link(target) => {
                    req.bytes("symlink").bytes("target").bytes(target);
                }
                Tree::Dir(entries) => {
                    req.bytes("directory");
                    for (name, child) in entries {
                        req.bytes("entry")
                            .bytes("(")
                            .bytes("name")
                            .bytes(name)
                            .bytes("node");
                        node(req, child);
                        req.bytes(")");
                    }
                }
            }
            req.bytes(")");
        }
        let mut req = Request::new();
        req.bytes("nix-archive-1");
        node(&mut req, t);
        req.into_bytes()
    }

    fn arb_tree() -> impl Strategy<Value = Tree> {
        let leaf = prop_oneof![
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..50))
                .prop_map(|(x, d)| Tree::File(x, d)),
            "[a-z/]{1,20}".prop_map(Tree::Link),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            proptest::collection::btree_map("[a-z0-9.]{1,8}", inner, 0..5).prop_map(|m| {
                Tree::Dir(
                    m.into_iter()
                        .filter(|(k, _)| k != "." && k != "..")
                        .collect(),
                )
            })
        })
    }

    pub fn copy(bytes: &[u8]) -> Result<(u64, Vec<u8>, usize)> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let mut r = bytes;
                let mut out = Vec::new();
                let n = copy_nar(&mut r, &Limits::default(), &mut |b| {
                    out.extend_from_slice(b);
                    Ok(())
                })
                .await?;
                Ok((n, out, r.len()))
            })
    }

    #[test]
    fn rejects_bad_nars() {
        let good = encode(&Tree::Dir(vec![
            ("a".into(), Tree::File(false, b"x".to_vec())),
            ("b".into(), Tree::Link("a".into())),
        ]));
        assert!(copy(&good).is_ok());
        let unsorted = encode(&Tree::Dir(vec![
            ("b".into(), Tree::File(false, vec![])),
            ("a".into(), Tree::File(false, vec![])),
        ]));
        assert!(matches!(copy(&unsorted), Err(Error::BadNar(_))));
        let dup = encode(&Tree::Dir(vec![
            ("a".into(), Tree::File(false, vec![])),
            ("a".into(), Tree::File(false, vec![])),
        ]));
        assert!(copy(&dup).is_err());
        let dotdot = encode(&Tree::Dir(vec![("..".into(), Tree::File(false, vec![]))]));
        assert!(copy(&dotdot).is_err());
        let mut bad_magic = good.clone();
        bad_magic[8] = b'X';
        assert!(copy(&bad_magic).is_err());
        // Absurd file size: an EOF error, not an allocation.
        let mut req = Request::new();
        req.bytes("nix-archive-1")
            .bytes("(")
            .bytes("type")
            .bytes("regular")
            .bytes("contents")
            .u64(u64::MAX);
        assert!(matches!(copy(req.as_bytes()), Err(Error::Eof(_))));
        // Deep nesting is bounded.
        let mut t = Tree::File(false, vec![]);
        for _ in 0..1100 {
            t = Tree::Dir(vec![("d".into(), t)]);
        }
        assert!(matches!(copy(&encode(&t)), Err(Error::BadNar(_))));
    }

    #[test]
    fn large_files_cross_buffer_boundaries() {
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let nar = encode(&Tree::Dir(vec![
            ("a".into(), Tree::File(true, big.clone())),
            ("b".into(), Tree::File(false, big[..65_530].to_vec())),
        ]));
        let (n, out, left) = copy(&nar).unwrap();
        assert_eq!((n, left), (nar.len() as u64, 0));
        assert_eq!(out, nar);
    }

    proptest! {
        #[test]
        fn finds_the_end(t in arb_tree(), trailing in proptest::collection::vec(any::<u8>(), 0..16)) {
            let nar = encode(&t);
            let mut bytes = nar.clone();
            bytes.extend_from_slice(&trailing);
            let (n, out, left) = copy(&bytes).unwrap();
            prop_assert_eq!(n, nar.len() as u64);
            prop_assert_eq!(out, nar);
            prop_assert_eq!(left, trailing.len());
        }

        #[test]
        fn truncated_is_an_error(t in arb_tree(), cut in any::<proptest::sample::Index>()) {
            let nar = encode(&t);
            let cut = cut.index(nar.len());
            prop_assert!(copy(&nar[..cut]).is_err());
        }
    }
}
