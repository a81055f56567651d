//! Nix's own base-32 encoding ("nix32"), used in store path hash parts and in
//! most hashes Nix prints.
//!
//! It differs from RFC 4648 base32 in two ways: the alphabet
//! `0123456789abcdfghijklmnpqrsvwxyz` omits `e o t u`, and the bits are taken
//! from the *end* of the input, so the last character encodes the lowest five
//! bits of the first byte. There is no padding: `n` bytes encode to
//! `ceil(8n / 5)` characters.
//!
//! ```
//! use nix_formats::nixbase32;
//! let digest = [0xabu8; 20];
//! let s = nixbase32::encode(&digest);
//! assert_eq!(s.len(), nixbase32::encoded_len(20));
//! assert_eq!(nixbase32::decode_fixed::<20>(&s).unwrap(), digest);
//! ```

/// The 32 characters Nix uses, in digit order.
pub const ALPHABET: &[u8; 32] = b"0123456789abcdfghijklmnpqrsvwxyz";

/// Decoding errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A character outside [`ALPHABET`] at the given byte offset.
    #[error("invalid nix-base32 character {ch:?} at offset {offset}")]
    InvalidChar {
        /// The offending character.
        ch: char,
        /// Its byte offset in the input.
        offset: usize,
    },
    /// The length is not the encoding of any whole number of bytes, or not
    /// the one that was asked for.
    #[error("invalid nix-base32 length {0}")]
    InvalidLength(usize),
    /// The first character carries bits beyond the decoded length.
    #[error("nix-base32 string {0:?} has non-zero padding bits")]
    NonZeroPadding(String),
}

/// Inverse of [`ALPHABET`]: 0xff for characters that are not digits.
const DECODE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 32 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Length of the encoding of `n` bytes.
pub const fn encoded_len(n: usize) -> usize {
    if n == 0 { 0 } else { (n * 8 - 1) / 5 + 1 }
}

/// Number of bytes that an encoding of `len` characters decodes to.
pub const fn decoded_len(len: usize) -> usize {
    len * 5 / 8
}

/// Encodes bytes in Nix's base-32.
pub fn encode(input: &[u8]) -> String {
    let len = encoded_len(input.len());
    let mut out = Vec::with_capacity(len);
    for n in (0..len).rev() {
        let b = n * 5;
        let i = b / 8;
        let j = b % 8;
        let lo = input[i] >> j;
        let hi = if j > 3 && i + 1 < input.len() {
            input[i + 1] << (8 - j)
        } else {
            0
        };
        out.push(ALPHABET[((lo | hi) & 0x1f) as usize]);
    }
    // Only ASCII from ALPHABET was pushed.
    String::from_utf8(out).unwrap_or_default()
}

/// Decodes a nix-base32 string; the length must be exactly the encoding of a
/// whole number of bytes and the unused high bits must be zero.
pub fn decode(input: &str) -> Result<Vec<u8>, Error> {
    let bytes = input.as_bytes();
    let n_out = decoded_len(bytes.len());
    if encoded_len(n_out) != bytes.len() {
        return Err(Error::InvalidLength(bytes.len()));
    }
    let mut out = vec![0u8; n_out];
    decode_into(input, &mut out)?;
    Ok(out)
}

/// Decodes a nix-base32 string of exactly `encoded_len(N)` characters.
pub fn decode_fixed<const N: usize>(input: &str) -> Result<[u8; N], Error> {
    if input.len() != encoded_len(N) {
        return Err(Error::InvalidLength(input.len()));
    }
    let mut out = [0u8; N];
    decode_into(input, &mut out)?;
    Ok(out)
}

fn decode_into(input: &str, out: &mut [u8]) -> Result<(), Error> {
    let bytes = input.as_bytes();
    let len = bytes.len();
    for (pos, &c) in bytes.iter().enumerate() {
        let digit = DECODE[c as usize];
        if digit == 0xff {
            let ch = input[pos..].chars().next().unwrap_or('\u{fffd}');
            return Err(Error::InvalidChar { ch, offset: pos });
        }
        let n = len - 1 - pos;
        let b = n * 5;
        let i = b / 8;
        let j = b % 8;
        out[i] |= digit << j;
        let carry = if j > 3 { digit >> (8 - j) } else { 0 };
        if i + 1 < out.len() {
            out[i + 1] |= carry;
        } else if carry != 0 {
            return Err(Error::NonZeroPadding(input.to_owned()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (hex, nix32) pairs: the long ones from `nix-hash --to-base32` (README §4),
    /// `1f` worked out by hand (two digits: 0b00 then 0b11111).
    const CASES: &[(&str, &str)] = &[
        ("", ""),
        ("1f", "0z"),
        (
            "98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4",
            "1r3v22qkypccqifzbww5lrn6hf1chi23m6zzkyvb8bvg457nxslq",
        ),
        (
            "71b8c8a66a3c28f093e03a20d8671cbb2505654b",
            "9djha9dv3ikxh81sw29z0a1wdakcif3i",
        ),
    ];

    #[test]
    fn known_vectors() {
        for (hex, b32) in CASES {
            let bytes = data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap();
            assert_eq!(encode(&bytes), *b32, "encode {hex}");
            assert_eq!(decode(b32).unwrap(), bytes, "decode {b32}");
        }
    }

    #[test]
    fn rejects_invalid_chars() {
        assert_eq!(decode("0e"), Err(Error::InvalidChar { ch: 'e', offset: 1 }));
        assert_eq!(decode("0é"), Err(Error::InvalidLength(3)));
        assert_eq!(
            decode_fixed::<1>("0u"),
            Err(Error::InvalidChar { ch: 'u', offset: 1 })
        );
    }

    #[test]
    fn rejects_bad_lengths() {
        // 3 characters is never the encoding of a whole number of bytes.
        assert_eq!(decode("000"), Err(Error::InvalidLength(3)));
        assert_eq!(decode_fixed::<20>("00"), Err(Error::InvalidLength(2)));
    }

    #[test]
    fn rejects_nonzero_padding() {
        // 1 byte = 2 chars = 10 bits; the top two bits of the first char must be 0.
        assert_eq!(decode("7z"), Ok(vec![0xff]));
        assert_eq!(decode("8z"), Err(Error::NonZeroPadding("8z".into())));
        assert_eq!(decode("zz"), Err(Error::NonZeroPadding("zz".into())));
    }

    proptest! {
        #[test]
        fn roundtrip(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let s = encode(&bytes);
            prop_assert_eq!(s.len(), encoded_len(bytes.len()));
            prop_assert_eq!(decode(&s).unwrap(), bytes);
        }

        #[test]
        fn decode_never_panics(s in "[0-9a-z]{0,60}") {
            if let Ok(b) = decode(&s) {
                prop_assert_eq!(encode(&b), s);
            }
        }
    }
}
