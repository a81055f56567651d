//! Git's pack files, sans I/O: lookups in a version-2 pack index, pack entry headers, and
//! the delta encoding that rebuilds an object from its base.

use super::GitError;
use super::index::varint;
use super::object::{Kind, Oid};

/// A version-2 pack index (`objects/pack/pack-*.idx`), held whole.
pub struct PackIndex {
    data: Vec<u8>,
    count: usize,
}

const HEADER: usize = 8;
const FANOUT: usize = 256 * 4;

impl PackIndex {
    pub fn parse(data: Vec<u8>) -> Result<PackIndex, GitError> {
        if data.get(..4) != Some(b"\xfftOc") {
            return Err(GitError::Unsupported(
                "pack indexes of version 1 (from git before 1.5.2)".into(),
            ));
        }
        if data.get(4..8) != Some(&[0, 0, 0, 2]) {
            return Err(GitError::Unsupported("pack index version".into()));
        }
        let count = data
            .get(HEADER + FANOUT - 4..HEADER + FANOUT)
            .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")) as usize)
            .ok_or_else(|| GitError::Corrupt("truncated pack index".into()))?;
        // Names, CRCs and 32-bit offsets, then the pack's and the index's checksums at least.
        if data.len() < HEADER + FANOUT + count * 28 + 40 {
            return Err(GitError::Corrupt("truncated pack index".into()));
        }
        Ok(PackIndex { data, count })
    }

    fn fanout(&self, byte: usize) -> usize {
        let at = HEADER + byte * 4;
        u32::from_be_bytes(self.data[at..at + 4].try_into().expect("4 bytes")) as usize
    }

    fn name(&self, i: usize) -> &[u8] {
        let at = HEADER + FANOUT + i * 20;
        &self.data[at..at + 20]
    }

    /// Where the object starts in the pack, if the pack holds it.
    pub fn offset_of(&self, oid: &Oid) -> Result<Option<u64>, GitError> {
        let first = oid.0[0] as usize;
        let lo = if first == 0 {
            0
        } else {
            self.fanout(first - 1)
        };
        let hi = self.fanout(first).min(self.count);
        let mut range = lo..hi.max(lo);
        while !range.is_empty() {
            let mid = range.start + range.len() / 2;
            match self.name(mid).cmp(&oid.0[..]) {
                std::cmp::Ordering::Equal => return self.offset(mid).map(Some),
                std::cmp::Ordering::Less => range.start = mid + 1,
                std::cmp::Ordering::Greater => range.end = mid,
            }
        }
        Ok(None)
    }

    fn offset(&self, i: usize) -> Result<u64, GitError> {
        let at = HEADER + FANOUT + self.count * 24 + i * 4;
        let small = u32::from_be_bytes(self.data[at..at + 4].try_into().expect("4 bytes"));
        if small & 0x8000_0000 == 0 {
            return Ok(u64::from(small));
        }
        let at = HEADER + FANOUT + self.count * 28 + (small & 0x7fff_ffff) as usize * 8;
        self.data
            .get(at..at + 8)
            .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
            .ok_or_else(|| GitError::Corrupt("pack index large offset out of range".into()))
    }
}

/// What a pack entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A whole object.
    Object(Kind),
    /// A delta against the entry this many bytes before this one.
    OfsDelta(u64),
    /// A delta against the object with this id.
    RefDelta(Oid),
}

/// A pack entry's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryHeader {
    pub kind: EntryKind,
    /// The size of the inflated data (the object, or the delta).
    pub size: u64,
    /// The header's length: the zlib stream starts after it.
    pub len: usize,
}

/// Parses the header at the start of `data` (the first bytes of an entry; 32 are enough).
pub fn entry_header(data: &[u8]) -> Result<EntryHeader, GitError> {
    let bad = || GitError::Corrupt("truncated pack entry header".into());
    let mut bytes = data.iter().copied();
    let first = bytes.next().ok_or_else(bad)?;
    let type_bits = (first >> 4) & 7;
    let mut size = u64::from(first & 0x0f);
    let mut shift = 4;
    let mut byte = first;
    let mut len = 1;
    while byte & 0x80 != 0 {
        byte = bytes.next().ok_or_else(bad)?;
        if shift > 57 {
            return Err(GitError::Corrupt("pack entry size overflows".into()));
        }
        size |= u64::from(byte & 0x7f) << shift;
        shift += 7;
        len += 1;
    }
    let kind = match type_bits {
        6 => {
            let (distance, used) = varint(&data[len..]).ok_or_else(bad)?;
            len += used;
            EntryKind::OfsDelta(distance)
        }
        7 => {
            let id = data.get(len..len + 20).ok_or_else(bad)?;
            len += 20;
            EntryKind::RefDelta(Oid(id.try_into().expect("20 bytes")))
        }
        n => EntryKind::Object(
            Kind::from_pack_type(n)
                .ok_or_else(|| GitError::Corrupt(format!("pack entry of type {n}")))?,
        ),
    };
    Ok(EntryHeader { kind, size, len })
}

/// Rebuilds an object from its `base` and a `delta`.
pub fn apply_delta(base: &[u8], delta: &[u8]) -> Result<Vec<u8>, GitError> {
    let bad = |what: &str| GitError::Corrupt(format!("malformed delta: {what}"));
    let mut at = 0;
    let mut size = || -> Result<u64, GitError> {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let byte = *delta.get(at).ok_or_else(|| bad("truncated size"))?;
            at += 1;
            if shift > 57 {
                return Err(bad("size overflows"));
            }
            value |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
    };
    let base_size = size()?;
    let result_size = size()?;
    if base_size != base.len() as u64 {
        return Err(bad("base size differs"));
    }
    let mut out = Vec::with_capacity(result_size.min(1 << 30) as usize);
    while at < delta.len() {
        let op = delta[at];
        at += 1;
        if op & 0x80 != 0 {
            // Copy from the base: the low four bits say which offset bytes follow, the next
            // three which size bytes.
            let mut field = |bits: u8, count: usize| -> Result<usize, GitError> {
                let mut value = 0usize;
                for i in 0..count {
                    if bits & (1 << i) != 0 {
                        let b = *delta.get(at).ok_or_else(|| bad("truncated copy"))?;
                        at += 1;
                        value |= usize::from(b) << (8 * i);
                    }
                }
                Ok(value)
            };
            let offset = field(op & 0x0f, 4)?;
            let len = match field((op >> 4) & 0x07, 3)? {
                0 => 0x10000,
                n => n,
            };
            let chunk = offset
                .checked_add(len)
                .and_then(|end| base.get(offset..end))
                .ok_or_else(|| bad("copy outside the base"))?;
            out.extend_from_slice(chunk);
        } else if op != 0 {
            let chunk = delta
                .get(at..at + op as usize)
                .ok_or_else(|| bad("truncated insert"))?;
            out.extend_from_slice(chunk);
            at += op as usize;
        } else {
            return Err(bad("reserved opcode 0"));
        }
        if out.len() as u64 > result_size {
            return Err(bad("result larger than stated"));
        }
    }
    if out.len() as u64 != result_size {
        return Err(bad("result size differs"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_copy_and_insert() {
        // base "hello world" (11) → "hello, world!" (13): copy 5, insert ",", copy 6, insert "!".
        let delta = [11, 13, 0x90, 5, 1, b',', 0x91, 5, 6, 1, b'!'];
        assert_eq!(
            apply_delta(b"hello world", &delta).unwrap(),
            b"hello, world!"
        );
        assert!(apply_delta(b"hello", &delta).is_err());
        assert!(apply_delta(b"hello world", &[11, 13, 0x91, 200, 6]).is_err());
        assert!(apply_delta(b"hello world", &[11, 1, 0]).is_err());
    }

    #[test]
    fn entry_headers() {
        // A blob of 300 bytes: type 3, size 300 = 0b1_0010_1100.
        let h = entry_header(&[0x80 | (3 << 4) | 0x0c, 0x12]).unwrap();
        assert_eq!(h.kind, EntryKind::Object(Kind::Blob));
        assert_eq!((h.size, h.len), (300, 2));
        let h = entry_header(&[6 << 4 | 5, 0x80, 0x00]).unwrap();
        assert_eq!(h.kind, EntryKind::OfsDelta(128));
        assert!(entry_header(&[0x80]).is_err());
        assert!(entry_header(&[5 << 4]).is_err());
    }
}
