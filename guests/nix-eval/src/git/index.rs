//! Git's index file (`.git/index`, versions 2–4), sans I/O: the entries `git ls-files`
//! lists, with what `fetchGit` compares against `HEAD`.

use super::GitError;
use super::object::{Mode, Oid};

/// One entry of the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The `/`-separated path from the top of the working tree.
    pub path: String,
    pub mode: Mode,
    pub oid: Oid,
    /// The merge stage (0 unless the path has a conflict).
    pub stage: u8,
    /// Added with `git add --intent-to-add`: tracked, with no contents staged yet.
    pub intent_to_add: bool,
}

/// Parses an index file; its extensions (caches that only speed git up) are skipped, except
/// that a split or sparse index, whose entries live partly elsewhere, is an error.
pub fn parse(data: &[u8]) -> Result<Vec<IndexEntry>, GitError> {
    let bad = |what: &str| GitError::Corrupt(format!("malformed index: {what}"));
    let u32_at = |at: usize| -> Result<u32, GitError> {
        data.get(at..at + 4)
            .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")))
            .ok_or_else(|| bad("truncated"))
    };
    if data.get(..4) != Some(b"DIRC") {
        return Err(bad("no DIRC signature"));
    }
    let version = u32_at(4)?;
    if !(2..=4).contains(&version) {
        return Err(GitError::Unsupported(format!("index version {version}")));
    }
    let count = u32_at(8)? as usize;
    let mut entries = Vec::with_capacity(count.min(1 << 20));
    let mut at = 12;
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let fixed = data
            .get(at..at + 62)
            .ok_or_else(|| bad("truncated entry"))?;
        let mode_bits = u32::from_be_bytes(fixed[24..28].try_into().expect("4 bytes"));
        let oid = Oid(fixed[40..60].try_into().expect("20 bytes"));
        let flags = u16::from_be_bytes([fixed[60], fixed[61]]);
        let mut cursor = at + 62;
        let mut intent_to_add = false;
        if flags & 0x4000 != 0 {
            if version < 3 {
                return Err(bad("extended flags in a version 2 index"));
            }
            let extended = data
                .get(cursor..cursor + 2)
                .ok_or_else(|| bad("truncated entry"))?;
            intent_to_add = u16::from_be_bytes([extended[0], extended[1]]) & 0x2000 != 0;
            cursor += 2;
        }
        let name = if version == 4 {
            // The name is the previous one, less a number of its last bytes, plus a suffix.
            let (strip, used) = varint(&data[cursor.min(data.len())..])
                .ok_or_else(|| bad("truncated path prefix"))?;
            cursor += used;
            let keep = previous
                .len()
                .checked_sub(strip as usize)
                .ok_or_else(|| bad("path prefix longer than the previous path"))?;
            let rest = &data[cursor.min(data.len())..];
            let nul = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| bad("unterminated path"))?;
            previous.truncate(keep);
            previous.extend_from_slice(&rest[..nul]);
            at = cursor + nul + 1;
            previous.clone()
        } else {
            let rest = &data[cursor.min(data.len())..];
            let nul = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| bad("unterminated path"))?;
            // Entries are padded with 1–8 NULs to a multiple of 8 bytes.
            let len = cursor - at + nul;
            at += (len + 8) & !7;
            rest[..nul].to_vec()
        };
        if at > data.len() {
            return Err(bad("truncated entry"));
        }
        let mode = match Mode::from_bits(mode_bits) {
            Some(Mode::Tree) => {
                return Err(GitError::Unsupported(
                    "sparse indexes (`git sparse-checkout --sparse-index`)".into(),
                ));
            }
            Some(m) => m,
            None => return Err(bad("unknown mode")),
        };
        let path = String::from_utf8(name)
            .map_err(|_| GitError::Unsupported("index paths that are not UTF-8".into()))?;
        entries.push(IndexEntry {
            path,
            mode,
            oid,
            stage: ((flags >> 12) & 3) as u8,
            intent_to_add,
        });
    }
    // Extensions: a four-byte signature and a length each, up to the trailing checksum.
    let end = data.len().checked_sub(20).ok_or_else(|| bad("truncated"))?;
    while at + 8 <= end {
        let signature = &data[at..at + 4];
        if signature == b"link" {
            return Err(GitError::Unsupported(
                "split indexes (`core.splitIndex`)".into(),
            ));
        }
        let len = u32_at(at + 4)? as usize;
        at = at
            .checked_add(8 + len)
            .filter(|&a| a <= end)
            .ok_or_else(|| bad("truncated extension"))?;
    }
    Ok(entries)
}

/// Git's variable-length offset encoding (each continuation adds one before shifting).
pub fn varint(data: &[u8]) -> Option<(u64, usize)> {
    let mut bytes = data.iter().copied().enumerate();
    let (_, first) = bytes.next()?;
    let mut value = u64::from(first & 0x7f);
    let mut byte = first;
    let mut used = 1;
    while byte & 0x80 != 0 {
        let (i, next) = bytes.next()?;
        value = value.checked_add(1)?.checked_mul(128)? | u64::from(next & 0x7f);
        byte = next;
        used = i + 1;
    }
    Some((value, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_decode_as_git_encodes_them() {
        assert_eq!(varint(&[0x05]), Some((5, 1)));
        // 128 is encoded as 0x80 0x00 (the continuation adds one).
        assert_eq!(varint(&[0x80, 0x00]), Some((128, 2)));
        assert_eq!(varint(&[0x80]), None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse(b"").is_err());
        assert!(parse(b"DIRC\0\0\0\x02\0\0\0\x05").is_err());
        assert!(parse(b"DIRC\0\0\0\x09\0\0\0\0").is_err());
        let mut v4 = b"DIRC\0\0\0\x04\0\0\0\x01".to_vec();
        v4.extend_from_slice(&[0; 62]);
        v4.extend_from_slice(&[0x7f, b'a']);
        assert!(parse(&v4).is_err());
    }
}
