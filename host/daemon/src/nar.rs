//! Finding the end of a NAR sent without a length.
//!
//! `NarFromPath` replies with the bare NAR serialisation: no length, no framing, so the only way
//! to know where it ends (and where the next reply starts) is to follow the NAR grammar (see
//! `nix_formats::nar`). [`copy_nar`] is a bounded, non-recursive tokenizer over an async stream
//! that validates the grammar (sorted unique names, sane targets, bounded nesting) and forwards
//! every byte it consumed to a sink, stopping exactly after the root node's closing token.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{Error, Result};

/// Bounds on a NAR received from the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NarLimits {
    /// Longest entry name (`NAME_MAX`).
    pub max_name: u64,
    /// Longest symlink target (`PATH_MAX`).
    pub max_target: u64,
    /// Deepest directory nesting.
    pub max_depth: usize,
}

impl Default for NarLimits {
    fn default() -> Self {
        Self {
            max_name: 255,
            max_target: 4096,
            max_depth: 1024,
        }
    }
}

const MAX_TOKEN: u64 = 16;
const BUF: usize = 64 * 1024;

struct Copier<'a, R: ?Sized> {
    r: &'a mut R,
    sink: &'a mut (dyn FnMut(&[u8]) -> io::Result<()> + Send),
    out: Vec<u8>,
    offset: u64,
}

fn bad(offset: u64, msg: impl std::fmt::Display) -> Error {
    Error::BadNar(format!("at offset {offset}: {msg}"))
}

impl<R: AsyncRead + Unpin + ?Sized> Copier<'_, R> {
    /// Appends the next `n` bytes of input to `out` (flushing earlier bytes first when the
    /// buffer is full, so the newest `n` bytes are always at its end).
    async fn fill(&mut self, n: usize) -> Result<()> {
        if self.out.len() + n > BUF {
            self.flush()?;
        }
        let start = self.out.len();
        self.out.resize(start + n, 0);
        match self.r.read_exact(&mut self.out[start..]).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(Error::Eof("a NAR"));
            }
            Err(e) => return Err(Error::Io(e)),
        }
        self.offset += n as u64;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if !self.out.is_empty() {
            (self.sink)(&self.out).map_err(Error::Io)?;
            self.out.clear();
        }
        Ok(())
    }

    async fn u64(&mut self) -> Result<u64> {
        self.fill(8).await?;
        let b: [u8; 8] = self.out[self.out.len() - 8..]
            .try_into()
            .map_err(|_| bad(self.offset, "internal buffer error"))?;
        Ok(u64::from_le_bytes(b))
    }

    async fn padding(&mut self, len: u64) -> Result<()> {
        let n = nix_formats::wire::padding_len(len);
        if n > 0 {
            self.fill(n).await?;
            if self.out[self.out.len() - n..].iter().any(|&b| b != 0) {
                return Err(bad(self.offset, "non-zero padding"));
            }
        }
        Ok(())
    }

    /// Reads a string of at most `max` bytes.
    async fn string(&mut self, max: u64) -> Result<Vec<u8>> {
        let at = self.offset;
        let len = self.u64().await?;
        if len > max {
            return Err(bad(at, format_args!("string of {len} bytes (limit {max})")));
        }
        self.fill(len as usize).await?;
        let s = self.out[self.out.len() - len as usize..].to_vec();
        self.padding(len).await?;
        Ok(s)
    }

    async fn expect(&mut self, tok: &[u8]) -> Result<()> {
        let at = self.offset;
        let got = self.string(MAX_TOKEN).await?;
        if got != tok {
            return Err(bad(
                at,
                format_args!(
                    "expected {:?}, got {:?}",
                    String::from_utf8_lossy(tok),
                    String::from_utf8_lossy(&got)
                ),
            ));
        }
        Ok(())
    }

    async fn contents(&mut self) -> Result<()> {
        let size = self.u64().await?;
        let mut left = size;
        while left > 0 {
            let n = (left as usize).min(BUF);
            self.fill(n).await?;
            left -= n as u64;
        }
        self.padding(size).await
    }
}

/// Reads one NAR from `r`, validating it, and passes its bytes to `sink` in order. Returns the
/// NAR's size. Reads nothing after the NAR's last byte.
pub async fn copy_nar<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    limits: &NarLimits,
    sink: &mut (dyn FnMut(&[u8]) -> io::Result<()> + Send),
) -> Result<u64> {
    let mut c = Copier {
        r,
        sink,
        out: Vec::with_capacity(BUF),
        offset: 0,
    };
    c.expect(b"nix-archive-1").await?;
    // One element per open directory: the previous entry name.
    let mut dirs: Vec<Option<Vec<u8>>> = Vec::new();
    'node: loop {
        c.expect(b"(").await?;
        c.expect(b"type").await?;
        let at = c.offset;
        let kind = c.string(MAX_TOKEN).await?;
        match &kind[..] {
            b"regular" => {
                let at = c.offset;
                let tok = c.string(MAX_TOKEN).await?;
                match &tok[..] {
                    b"executable" => {
                        c.expect(b"").await?;
                        c.expect(b"contents").await?;
                    }
                    b"contents" => {}
                    other => {
                        return Err(bad(
                            at,
                            format_args!(
                                "expected \"executable\" or \"contents\", got {:?}",
                                String::from_utf8_lossy(other)
                            ),
                        ));
                    }
                }
                c.contents().await?;
                c.expect(b")").await?;
            }
            b"symlink" => {
                c.expect(b"target").await?;
                let at = c.offset;
                let target = c.string(limits.max_target).await?;
                if target.is_empty() || target.contains(&0) {
                    return Err(bad(at, "invalid symlink target"));
                }
                c.expect(b")").await?;
            }
            b"directory" => {
                if dirs.len() >= limits.max_depth {
                    return Err(bad(at, "directories nested too deeply"));
                }
                dirs.push(None);
            }
            other => {
                return Err(bad(
                    at,
                    format_args!("unknown node type {:?}", String::from_utf8_lossy(other)),
                ));
            }
        }
        let mut node_done = kind != b"directory";
        loop {
            if node_done {
                if dirs.is_empty() {
                    c.flush()?;
                    return Ok(c.offset);
                }
                // Close the entry that held the finished node.
                c.expect(b")").await?;
            }
            let at = c.offset;
            let tok = c.string(MAX_TOKEN).await?;
            match &tok[..] {
                b")" => {
                    dirs.pop();
                    node_done = true;
                }
                b"entry" => {
                    c.expect(b"(").await?;
                    c.expect(b"name").await?;
                    let at = c.offset;
                    let name = c.string(limits.max_name).await?;
                    if name.is_empty()
                        || name == b"."
                        || name == b".."
                        || name.contains(&b'/')
                        || name.contains(&0)
                    {
                        return Err(bad(
                            at,
                            format_args!("invalid entry name {:?}", String::from_utf8_lossy(&name)),
                        ));
                    }
                    let prev = dirs
                        .last_mut()
                        .ok_or_else(|| bad(at, "entry outside a directory"))?;
                    if prev.as_ref().is_some_and(|p| *p >= name) {
                        return Err(bad(
                            at,
                            format_args!(
                                "entry {:?} not sorted after the previous one",
                                String::from_utf8_lossy(&name)
                            ),
                        ));
                    }
                    *prev = Some(name);
                    c.expect(b"node").await?;
                    continue 'node;
                }
                other => {
                    return Err(bad(
                        at,
                        format_args!(
                            "expected \"entry\" or \")\", got {:?}",
                            String::from_utf8_lossy(other)
                        ),
                    ));
                }
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
                let n = copy_nar(&mut r, &NarLimits::default(), &mut |b| {
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
