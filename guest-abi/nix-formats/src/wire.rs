//! The framing Nix uses on the wire and inside NAR files: integers are u64
//! little-endian; byte strings are a u64 length, the bytes, then zero bytes
//! up to the next multiple of 8.
//!
//! Pure helpers shared by the NAR reader/writer and the worker-protocol
//! client: encode into a `Vec` or any [`Write`], decode from a slice or any
//! [`Read`] with a caller-chosen maximum length.
//!
//! ```
//! use nix_formats::wire;
//! let mut buf = Vec::new();
//! wire::put_bytes(&mut buf, b"hello");
//! assert_eq!(buf.len(), 8 + 8);
//! let (s, rest) = wire::decode_bytes(&buf, 100).unwrap();
//! assert_eq!((s, rest.len()), (&b"hello"[..], 0));
//! ```

use std::io::{self, Read, Write};

/// Wire errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input ended before a complete value.
    #[error("unexpected end of input (needed {needed} more bytes)")]
    UnexpectedEof {
        /// How many bytes were still needed, at least.
        needed: u64,
    },
    /// A byte string longer than the caller allows.
    #[error("string of {len} bytes exceeds the limit of {max}")]
    TooLong {
        /// Announced length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// Padding after a byte string was not all zeros.
    #[error("non-zero padding after a string of {len} bytes")]
    NonZeroPadding {
        /// Length of the string before the padding.
        len: u64,
    },
    /// An error of the underlying reader or writer.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::UnexpectedEof { needed: a }, Self::UnexpectedEof { needed: b }) => a == b,
            (Self::TooLong { len: a, max: m }, Self::TooLong { len: b, max: n }) => {
                a == b && m == n
            }
            (Self::NonZeroPadding { len: a }, Self::NonZeroPadding { len: b }) => a == b,
            (Self::Io(a), Self::Io(b)) => a.kind() == b.kind(),
            _ => false,
        }
    }
}

/// Number of zero bytes after a string of `len` bytes.
pub const fn padding_len(len: u64) -> usize {
    ((8 - len % 8) % 8) as usize
}

const ZEROS: [u8; 8] = [0; 8];

/// Appends a u64.
pub fn put_u64(buf: &mut Vec<u8>, n: u64) {
    buf.extend_from_slice(&n.to_le_bytes());
}

/// Appends a framed byte string.
pub fn put_bytes(buf: &mut Vec<u8>, s: &[u8]) {
    put_u64(buf, s.len() as u64);
    buf.extend_from_slice(s);
    buf.extend_from_slice(&ZEROS[..padding_len(s.len() as u64)]);
}

/// Writes a u64.
pub fn write_u64<W: Write + ?Sized>(w: &mut W, n: u64) -> io::Result<()> {
    w.write_all(&n.to_le_bytes())
}

/// Writes a framed byte string.
pub fn write_bytes<W: Write + ?Sized>(w: &mut W, s: &[u8]) -> io::Result<()> {
    // One write for short strings (the common case in NAR headers).
    if s.len() <= 240 {
        let mut buf = Vec::with_capacity(8 + s.len() + 8);
        put_bytes(&mut buf, s);
        return w.write_all(&buf);
    }
    write_u64(w, s.len() as u64)?;
    w.write_all(s)?;
    write_padding(w, s.len() as u64)
}

/// Writes the zero padding that follows `len` bytes of content.
pub fn write_padding<W: Write + ?Sized>(w: &mut W, len: u64) -> io::Result<()> {
    w.write_all(&ZEROS[..padding_len(len)])
}

/// Decodes a u64 from the start of `buf`, returning it and the rest.
pub fn decode_u64(buf: &[u8]) -> Result<(u64, &[u8]), Error> {
    match buf.split_first_chunk::<8>() {
        Some((n, rest)) => Ok((u64::from_le_bytes(*n), rest)),
        None => Err(Error::UnexpectedEof {
            needed: 8 - buf.len() as u64,
        }),
    }
}

/// Decodes a framed byte string of at most `max` bytes from the start of
/// `buf`, returning it and the rest.
pub fn decode_bytes(buf: &[u8], max: u64) -> Result<(&[u8], &[u8]), Error> {
    let (len, rest) = decode_u64(buf)?;
    if len > max {
        return Err(Error::TooLong { len, max });
    }
    let padded = len + padding_len(len) as u64;
    if (rest.len() as u64) < padded {
        return Err(Error::UnexpectedEof {
            needed: padded - rest.len() as u64,
        });
    }
    let (s, rest) = rest.split_at(len as usize);
    let (pad, rest) = rest.split_at(padding_len(len));
    if pad.iter().any(|&b| b != 0) {
        return Err(Error::NonZeroPadding { len });
    }
    Ok((s, rest))
}

fn read_exact<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> Result<(), Error> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::UnexpectedEof {
                needed: buf.len() as u64,
            }
        } else {
            Error::Io(e)
        }
    })
}

/// Reads a u64.
pub fn read_u64<R: Read + ?Sized>(r: &mut R) -> Result<u64, Error> {
    let mut b = [0u8; 8];
    read_exact(r, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// Reads and checks the zero padding after `len` bytes of content.
pub fn read_padding<R: Read + ?Sized>(r: &mut R, len: u64) -> Result<(), Error> {
    let n = padding_len(len);
    let mut b = [0u8; 8];
    read_exact(r, &mut b[..n])?;
    if b[..n].iter().any(|&x| x != 0) {
        return Err(Error::NonZeroPadding { len });
    }
    Ok(())
}

/// Reads a framed byte string of at most `max` bytes.
pub fn read_bytes<R: Read + ?Sized>(r: &mut R, max: u64) -> Result<Vec<u8>, Error> {
    let len = read_u64(r)?;
    if len > max {
        return Err(Error::TooLong { len, max });
    }
    let mut buf = vec![0u8; len as usize];
    read_exact(r, &mut buf)?;
    read_padding(r, len)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn framing() {
        let mut v = Vec::new();
        put_bytes(&mut v, b"nix-archive-1");
        assert_eq!(v, b"\x0d\0\0\0\0\0\0\0nix-archive-1\0\0\0".to_vec());
        let mut w = Vec::new();
        write_bytes(&mut w, b"nix-archive-1").unwrap();
        assert_eq!(v, w);
        put_bytes(&mut v, b"");
        assert_eq!(v.len(), 24 + 8);
    }

    #[test]
    fn decode_errors() {
        assert_eq!(decode_u64(&[1, 2]), Err(Error::UnexpectedEof { needed: 6 }));
        let mut v = Vec::new();
        put_bytes(&mut v, b"abc");
        assert_eq!(decode_bytes(&v, 2), Err(Error::TooLong { len: 3, max: 2 }));
        assert_eq!(
            decode_bytes(&v[..12], 10),
            Err(Error::UnexpectedEof { needed: 4 })
        );
        v[13] = 1;
        assert_eq!(decode_bytes(&v, 10), Err(Error::NonZeroPadding { len: 3 }));
        assert_eq!(
            read_bytes(&mut &v[..], 10),
            Err(Error::NonZeroPadding { len: 3 })
        );
        assert_eq!(
            read_bytes(&mut &v[..10], 10),
            Err(Error::UnexpectedEof { needed: 3 })
        );
        // A huge announced length must not allocate before the limit check.
        let mut big = Vec::new();
        put_u64(&mut big, u64::MAX);
        assert_eq!(
            read_bytes(&mut &big[..], 1 << 20),
            Err(Error::TooLong {
                len: u64::MAX,
                max: 1 << 20
            })
        );
    }

    proptest! {
        #[test]
        fn roundtrip(strings in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..5), n in any::<u64>()) {
            let mut v = Vec::new();
            let mut w = Vec::new();
            put_u64(&mut v, n);
            write_u64(&mut w, n).unwrap();
            for s in &strings {
                put_bytes(&mut v, s);
                write_bytes(&mut w, s).unwrap();
            }
            prop_assert_eq!(&v, &w);
            prop_assert_eq!(v.len() % 8, 0);
            let (m, mut rest) = decode_u64(&v).unwrap();
            prop_assert_eq!(m, n);
            let mut r = &w[8..];
            for s in &strings {
                let (got, r2) = decode_bytes(rest, 1000).unwrap();
                prop_assert_eq!(got, &s[..]);
                rest = r2;
                prop_assert_eq!(&read_bytes(&mut r, 1000).unwrap(), s);
            }
            prop_assert!(rest.is_empty() && r.is_empty());
        }
    }
}
