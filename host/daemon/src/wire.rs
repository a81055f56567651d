//! Strict, bounded decoding of worker-protocol values from an async stream, and the framed
//! stream format used for uploads.
//!
//! The daemon is not trusted: every length prefix is checked against [`Limits`] before anything
//! is read, buffers grow with the bytes actually received (a truncated reply announcing 16 MiB
//! allocates at most one 64 KiB chunk), padding must be zero, booleans must be 0 or 1, and a
//! closed connection is [`Error::Eof`] naming what was being read. Encoding reuses
//! [`nix_formats::wire`] (u64 little-endian, strings padded to 8 bytes).
//!
//! Framed streams (`AddToStore` ≥ 1.25, `AddToStoreNar` ≥ 1.23, `AddMultipleToStore`) are a
//! sequence of frames, each a u64 length followed by that many raw bytes (no padding), ending
//! with a frame of length 0.

use nix_formats::{StoreDir, StorePath};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result};

/// Upper bounds on what the daemon may announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest string (log line, error message, JSON, data chunk).
    pub max_string: u64,
    /// Most elements in a list, set or map.
    pub max_list: u64,
    /// Longest frame in a framed stream.
    pub max_frame: u64,
    /// Longest store path string (store dir + `/` + 32 + `-` + 211).
    pub max_path: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_string: 16 << 20,
            max_list: 1 << 20,
            max_frame: 16 << 20,
            max_path: 4096,
        }
    }
}

/// Bytes read at once while a long string arrives.
const CHUNK: usize = 64 * 1024;

async fn read_exact<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    buf: &mut [u8],
    what: &'static str,
) -> Result<()> {
    match r.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(Error::Eof(what)),
        Err(e) => Err(Error::Io(e)),
    }
}

/// Reads a u64.
pub async fn read_u64<R: AsyncRead + Unpin + ?Sized>(r: &mut R, what: &'static str) -> Result<u64> {
    let mut b = [0u8; 8];
    read_exact(r, &mut b, what).await?;
    Ok(u64::from_le_bytes(b))
}

/// Reads a boolean (exactly 0 or 1).
pub async fn read_bool<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    what: &'static str,
) -> Result<bool> {
    match read_u64(r, what).await? {
        0 => Ok(false),
        1 => Ok(true),
        n => Err(Error::BadValue {
            what,
            value: n.to_string(),
        }),
    }
}

/// Reads and checks the padding after `len` bytes.
pub async fn read_padding<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    len: u64,
    what: &'static str,
) -> Result<()> {
    let n = nix_formats::wire::padding_len(len);
    let mut pad = [0u8; 8];
    read_exact(r, &mut pad[..n], what).await?;
    if pad[..n].iter().any(|&b| b != 0) {
        return Err(Error::BadPadding(what));
    }
    Ok(())
}

/// Reads exactly `len` bytes, growing the buffer only as bytes arrive.
pub async fn read_raw<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    len: u64,
    what: &'static str,
) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity((len as usize).min(CHUNK));
    let mut left = len;
    while left > 0 {
        let start = buf.len();
        let n = (left as usize).min(CHUNK);
        buf.resize(start + n, 0);
        read_exact(r, &mut buf[start..], what).await?;
        left -= n as u64;
    }
    Ok(buf)
}

/// Reads a string of at most `max` bytes.
pub async fn read_bytes<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    max: u64,
    what: &'static str,
) -> Result<Vec<u8>> {
    let len = read_u64(r, what).await?;
    if len > max {
        return Err(Error::TooLong { what, len, max });
    }
    let buf = read_raw(r, len, what).await?;
    read_padding(r, len, what).await?;
    Ok(buf)
}

/// Reads a UTF-8 string of at most `max` bytes.
pub async fn read_string<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    max: u64,
    what: &'static str,
) -> Result<String> {
    let b = read_bytes(r, max, what).await?;
    String::from_utf8(b).map_err(|e| Error::BadValue {
        what,
        value: format!("non-UTF-8 {:?}", String::from_utf8_lossy(e.as_bytes())),
    })
}

/// Reads a string meant for humans (log lines, error messages): invalid UTF-8 is replaced, as a
/// terminal would show it.
pub async fn read_text<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    max: u64,
    what: &'static str,
) -> Result<String> {
    let b = read_bytes(r, max, what).await?;
    Ok(match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Reads a list length, checked against `limits.max_list`.
pub async fn read_count<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    limits: &Limits,
    what: &'static str,
) -> Result<u64> {
    let n = read_u64(r, what).await?;
    if n > limits.max_list {
        return Err(Error::TooLong {
            what,
            len: n,
            max: limits.max_list,
        });
    }
    Ok(n)
}

/// Reads a list of strings.
pub async fn read_strings<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    limits: &Limits,
    what: &'static str,
) -> Result<Vec<String>> {
    let n = read_count(r, limits, what).await?;
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(read_string(r, limits.max_string, what).await?);
    }
    Ok(v)
}

/// Parses an absolute store path.
pub fn parse_store_path(store_dir: &StoreDir, s: &str, what: &'static str) -> Result<StorePath> {
    store_dir.parse(s).map_err(|e| Error::BadValue {
        what,
        value: format!("{s:?} ({e})"),
    })
}

/// Reads an absolute store path.
pub async fn read_store_path<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    store_dir: &StoreDir,
    limits: &Limits,
    what: &'static str,
) -> Result<StorePath> {
    let s = read_string(r, limits.max_path, what).await?;
    parse_store_path(store_dir, &s, what)
}

/// Reads an optional store path (the empty string is `None`).
pub async fn read_opt_store_path<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    store_dir: &StoreDir,
    limits: &Limits,
    what: &'static str,
) -> Result<Option<StorePath>> {
    let s = read_string(r, limits.max_path, what).await?;
    if s.is_empty() {
        return Ok(None);
    }
    parse_store_path(store_dir, &s, what).map(Some)
}

/// Reads a set of store paths (sorted and deduplicated).
pub async fn read_store_paths<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    store_dir: &StoreDir,
    limits: &Limits,
    what: &'static str,
) -> Result<std::collections::BTreeSet<StorePath>> {
    let n = read_count(r, limits, what).await?;
    let mut set = std::collections::BTreeSet::new();
    for _ in 0..n {
        set.insert(read_store_path(r, store_dir, limits, what).await?);
    }
    Ok(set)
}

/// A request being encoded: the worker protocol's values appended to a buffer that is written in
/// one go.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Request(Vec<u8>);

impl Request {
    /// An empty request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a u64.
    pub fn u64(&mut self, n: u64) -> &mut Self {
        nix_formats::wire::put_u64(&mut self.0, n);
        self
    }

    /// Appends a boolean.
    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.u64(b as u64)
    }

    /// Appends a string.
    pub fn bytes(&mut self, s: impl AsRef<[u8]>) -> &mut Self {
        nix_formats::wire::put_bytes(&mut self.0, s.as_ref());
        self
    }

    /// Appends a list of strings.
    pub fn strings<I, S>(&mut self, items: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        I::IntoIter: ExactSizeIterator,
        S: AsRef<[u8]>,
    {
        let it = items.into_iter();
        self.u64(it.len() as u64);
        for s in it {
            self.bytes(s);
        }
        self
    }

    /// Appends an absolute store path.
    pub fn path(&mut self, dir: &StoreDir, p: &StorePath) -> &mut Self {
        self.bytes(dir.display(p))
    }

    /// Appends a set of absolute store paths.
    pub fn paths<'a>(
        &mut self,
        dir: &StoreDir,
        ps: impl IntoIterator<Item = &'a StorePath, IntoIter: ExactSizeIterator>,
    ) -> &mut Self {
        let it = ps.into_iter();
        self.u64(it.len() as u64);
        for p in it {
            self.path(dir, p);
        }
        self
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Consumes the request, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Writes one frame of a framed stream (an empty `data` is skipped: it would end the stream).
pub async fn write_frame<W: AsyncWrite + Unpin + ?Sized>(w: &mut W, data: &[u8]) -> Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    w.write_all(&(data.len() as u64).to_le_bytes()).await?;
    w.write_all(data).await?;
    Ok(())
}

/// Ends a framed stream.
pub async fn finish_frames<W: AsyncWrite + Unpin + ?Sized>(w: &mut W) -> Result<()> {
    w.write_all(&0u64.to_le_bytes()).await?;
    Ok(())
}

/// Reads the next frame of a framed stream: `None` at the terminating empty frame.
pub async fn read_frame<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    limits: &Limits,
) -> Result<Option<Vec<u8>>> {
    let len = read_u64(r, "a frame length").await?;
    if len == 0 {
        return Ok(None);
    }
    if len > limits.max_frame {
        return Err(Error::TooLong {
            what: "a frame",
            len,
            max: limits.max_frame,
        });
    }
    read_raw(r, len, "a frame").await.map(Some)
}

/// Reads a whole framed stream of at most `max_total` bytes.
pub async fn read_framed<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    limits: &Limits,
    max_total: u64,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(frame) = read_frame(r, limits).await? {
        if (out.len() + frame.len()) as u64 > max_total {
            return Err(Error::TooLong {
                what: "a framed stream",
                len: (out.len() + frame.len()) as u64,
                max: max_total,
            });
        }
        out.extend_from_slice(&frame);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn strict_scalars() {
        rt().block_on(async {
            let mut r = &[2u8, 0, 0, 0, 0, 0, 0, 0][..];
            assert!(matches!(
                read_bool(&mut r, "flag").await,
                Err(Error::BadValue { what: "flag", .. })
            ));
            let mut r = &[1u8, 0, 0][..];
            assert!(matches!(read_u64(&mut r, "n").await, Err(Error::Eof("n"))));
        });
    }

    #[test]
    fn absurd_lengths_do_not_allocate() {
        rt().block_on(async {
            let mut req = Request::new();
            req.u64(u64::MAX);
            let mut r = req.as_bytes();
            assert!(matches!(
                read_bytes(&mut r, 1 << 20, "msg").await,
                Err(Error::TooLong { len: u64::MAX, .. })
            ));
            // Within the limit but truncated: an EOF error after one chunk at most.
            let mut req = Request::new();
            req.u64(16 << 20);
            let mut bytes = req.into_bytes();
            bytes.extend_from_slice(&[b'x'; 100]);
            let mut r = &bytes[..];
            assert!(matches!(
                read_bytes(&mut r, 16 << 20, "msg").await,
                Err(Error::Eof("msg"))
            ));
            let limits = Limits::default();
            let mut req = Request::new();
            req.u64(limits.max_list + 1);
            let mut r = req.as_bytes();
            assert!(matches!(
                read_strings(&mut r, &limits, "list").await,
                Err(Error::TooLong { .. })
            ));
        });
    }

    #[test]
    fn bad_padding_and_utf8() {
        rt().block_on(async {
            let mut req = Request::new();
            req.bytes(b"abc");
            let mut bytes = req.into_bytes();
            bytes[12] = 7;
            assert!(matches!(
                read_bytes(&mut &bytes[..], 100, "s").await,
                Err(Error::BadPadding("s"))
            ));
            let mut req = Request::new();
            req.bytes([0xffu8, 0xfe]);
            assert!(matches!(
                read_string(&mut req.as_bytes(), 100, "s").await,
                Err(Error::BadValue { .. })
            ));
            assert_eq!(
                read_text(&mut req.as_bytes(), 100, "s").await.unwrap(),
                "\u{fffd}\u{fffd}"
            );
        });
    }

    #[test]
    fn store_paths() {
        rt().block_on(async {
            let dir = StoreDir::default();
            let limits = Limits::default();
            let mut req = Request::new();
            req.bytes("/nix/store/ffffffffffffffffffffffffffffffff-x")
                .bytes("")
                .bytes("/tmp/ffffffffffffffffffffffffffffffff-x");
            let mut r = req.as_bytes();
            let p = read_store_path(&mut r, &dir, &limits, "p").await.unwrap();
            assert_eq!(p.name(), "x");
            assert_eq!(
                read_opt_store_path(&mut r, &dir, &limits, "p")
                    .await
                    .unwrap(),
                None
            );
            assert!(matches!(
                read_store_path(&mut r, &dir, &limits, "p").await,
                Err(Error::BadValue { what: "p", .. })
            ));
        });
    }

    #[test]
    fn framed_limits() {
        rt().block_on(async {
            let limits = Limits {
                max_frame: 4,
                ..Limits::default()
            };
            let mut out = Vec::new();
            write_frame(&mut out, b"hello").await.unwrap();
            finish_frames(&mut out).await.unwrap();
            assert!(matches!(
                read_framed(&mut &out[..], &limits, 100).await,
                Err(Error::TooLong {
                    what: "a frame",
                    ..
                })
            ));
            assert_eq!(
                read_framed(&mut &out[..], &Limits::default(), 100)
                    .await
                    .unwrap(),
                b"hello"
            );
            assert!(matches!(
                read_framed(&mut &out[..], &Limits::default(), 3).await,
                Err(Error::TooLong { .. })
            ));
            // Missing terminator.
            assert!(matches!(
                read_framed(&mut &out[..13], &Limits::default(), 100).await,
                Err(Error::Eof(_))
            ));
        });
    }

    proptest! {
        #[test]
        fn roundtrip(strings in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..100), 0..8),
                     n in any::<u64>(), b in any::<bool>()) {
            let mut req = Request::new();
            req.u64(n).bool(b).strings(strings.iter());
            let bytes = req.into_bytes();
            prop_assert_eq!(bytes.len() % 8, 0);
            let limits = Limits::default();
            rt().block_on(async {
                let mut r = &bytes[..];
                assert_eq!(read_u64(&mut r, "n").await.unwrap(), n);
                assert_eq!(read_bool(&mut r, "b").await.unwrap(), b);
                let count = read_count(&mut r, &limits, "c").await.unwrap();
                assert_eq!(count, strings.len() as u64);
                for s in &strings {
                    assert_eq!(&read_bytes(&mut r, 1000, "s").await.unwrap(), s);
                }
                assert!(r.is_empty());
            });
        }

        #[test]
        fn framed_roundtrip(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let all: Vec<u8> = chunks.concat();
            rt().block_on(async {
                let mut out = Vec::new();
                for c in &chunks {
                    write_frame(&mut out, c).await.unwrap();
                }
                finish_frames(&mut out).await.unwrap();
                let got = read_framed(&mut &out[..], &Limits::default(), 1 << 20).await.unwrap();
                assert_eq!(got, all);
            });
        }

        #[test]
        fn truncation_is_an_error(strings in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..5), cut in any::<proptest::sample::Index>()) {
            let mut req = Request::new();
            req.strings(strings.iter());
            let bytes = req.into_bytes();
            let cut = cut.index(bytes.len());
            let limits = Limits::default();
            rt().block_on(async {
                let mut r = &bytes[..cut];
                let res = async {
                    let n = read_count(&mut r, &limits, "c").await?;
                    for _ in 0..n { read_bytes(&mut r, 1000, "s").await?; }
                    Ok::<_, Error>(())
                }.await;
                assert!(matches!(res, Err(Error::Eof(_))));
            });
        }
    }
}
