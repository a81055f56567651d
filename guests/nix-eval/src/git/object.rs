//! Git's object formats, sans I/O: object ids, the `<kind> <size>\0` header of a loose
//! object, tree entries and the commit fields `fetchGit` reads (tree, parents, committer
//! time).

use std::fmt;

use super::GitError;

/// A SHA-1 object id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(pub [u8; 20]);

impl Oid {
    /// Parses 40 hexadecimal digits.
    pub fn from_hex(hex: &str) -> Option<Oid> {
        let hex = hex.as_bytes();
        if hex.len() != 40 {
            return None;
        }
        let mut out = [0u8; 20];
        for (i, pair) in hex.chunks(2).enumerate() {
            let digit = |c: u8| (c as char).to_digit(16);
            out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        Some(Oid(out))
    }

    /// The id's 40 lower-case hexadecimal digits.
    pub fn to_hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The id of a blob with these contents, as `git hash-object` computes it.
    pub fn of_blob(contents: &[u8]) -> Oid {
        use sha1::Digest;
        let mut h = sha1::Sha1::new();
        h.update(format!("blob {}\0", contents.len()).as_bytes());
        h.update(contents);
        Oid(h.finalize().into())
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

/// The four kinds of object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Commit,
    Tree,
    Blob,
    Tag,
}

impl Kind {
    fn parse(name: &[u8]) -> Option<Kind> {
        Some(match name {
            b"commit" => Kind::Commit,
            b"tree" => Kind::Tree,
            b"blob" => Kind::Blob,
            b"tag" => Kind::Tag,
            _ => return None,
        })
    }

    /// The kind a pack entry's type number (1–4) names.
    pub fn from_pack_type(n: u8) -> Option<Kind> {
        Some(match n {
            1 => Kind::Commit,
            2 => Kind::Tree,
            3 => Kind::Blob,
            4 => Kind::Tag,
            _ => return None,
        })
    }
}

/// Splits an inflated loose object into its kind and its contents, checking the size the
/// header states.
pub fn split_loose(data: &[u8]) -> Result<(Kind, &[u8]), GitError> {
    let bad = || GitError::Corrupt("malformed loose object header".into());
    let nul = data.iter().position(|&b| b == 0).ok_or_else(bad)?;
    let header = &data[..nul];
    let space = header.iter().position(|&b| b == b' ').ok_or_else(bad)?;
    let kind = Kind::parse(&header[..space]).ok_or_else(bad)?;
    let size: usize = std::str::from_utf8(&header[space + 1..])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let body = &data[nul + 1..];
    if body.len() != size {
        return Err(GitError::Corrupt(format!(
            "loose object states {size} bytes but holds {}",
            body.len()
        )));
    }
    Ok((kind, body))
}

/// The mode of a tree entry, as far as a checkout distinguishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `100644` (and the historical `100664`).
    File,
    /// `100755`.
    Executable,
    /// `120000`.
    Symlink,
    /// `40000`.
    Tree,
    /// `160000`: a submodule's commit.
    Gitlink,
}

impl Mode {
    /// The mode of an octal mode number (trees and the index store the same numbers).
    pub fn from_bits(bits: u32) -> Option<Mode> {
        Some(match bits {
            0o100644 | 0o100664 => Mode::File,
            0o100755 => Mode::Executable,
            0o120000 => Mode::Symlink,
            0o040000 => Mode::Tree,
            0o160000 => Mode::Gitlink,
            _ => return None,
        })
    }
}

/// One entry of a tree object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry<'a> {
    pub mode: Mode,
    pub name: &'a [u8],
    pub oid: Oid,
}

/// The entries of a tree object, in stored order.
pub fn tree_entries(mut data: &[u8]) -> Result<Vec<TreeEntry<'_>>, GitError> {
    let bad = |what: &str| GitError::Corrupt(format!("malformed tree object: {what}"));
    let mut out = Vec::new();
    while !data.is_empty() {
        let space = data
            .iter()
            .position(|&b| b == b' ')
            .ok_or_else(|| bad("no mode"))?;
        let bits = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|s| u32::from_str_radix(s, 8).ok())
            .ok_or_else(|| bad("mode is not octal"))?;
        let mode = Mode::from_bits(bits).ok_or_else(|| bad("unknown mode"))?;
        let rest = &data[space + 1..];
        let nul = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| bad("unterminated name"))?;
        let name = &rest[..nul];
        let id = rest
            .get(nul + 1..nul + 21)
            .ok_or_else(|| bad("truncated id"))?;
        out.push(TreeEntry {
            mode,
            name,
            oid: Oid(id.try_into().expect("20 bytes")),
        });
        data = &rest[nul + 21..];
    }
    Ok(out)
}

/// What `fetchGit` reads of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub tree: Oid,
    pub parents: Vec<Oid>,
    /// The committer's time stamp, in seconds since the epoch (`git log --format=%ct`).
    pub commit_time: i64,
}

/// Parses a commit object's header lines.
pub fn parse_commit(data: &[u8]) -> Result<Commit, GitError> {
    let bad = |what: &str| GitError::Corrupt(format!("malformed commit object: {what}"));
    let (mut tree, mut parents, mut time) = (None, Vec::new(), None);
    for line in data.split(|&b| b == b'\n') {
        if line.is_empty() {
            break; // the message follows
        }
        let oid_of = |v: &[u8]| {
            std::str::from_utf8(v)
                .ok()
                .and_then(Oid::from_hex)
                .ok_or_else(|| bad("bad object id"))
        };
        if let Some(v) = line.strip_prefix(b"tree ") {
            tree = Some(oid_of(v)?);
        } else if let Some(v) = line.strip_prefix(b"parent ") {
            parents.push(oid_of(v)?);
        } else if let Some(v) = line.strip_prefix(b"committer ") {
            // `Name <email> 1700000000 +0100`: the time stamp is the second field from the end.
            let end = v
                .iter()
                .rposition(|&b| b == b'>')
                .ok_or_else(|| bad("committer"))?;
            let stamp = std::str::from_utf8(&v[end + 1..])
                .ok()
                .and_then(|s| s.split_whitespace().next())
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad("committer time"))?;
            time = Some(stamp);
        }
    }
    Ok(Commit {
        tree: tree.ok_or_else(|| bad("no tree"))?,
        parents,
        commit_time: time.ok_or_else(|| bad("no committer"))?,
    })
}

/// The object a tag object points at.
pub fn tag_target(data: &[u8]) -> Result<Oid, GitError> {
    data.split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"object "))
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(Oid::from_hex)
        .ok_or_else(|| GitError::Corrupt("malformed tag object".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_match_git() {
        // `printf hello | git hash-object --stdin`
        assert_eq!(
            Oid::of_blob(b"hello").to_hex(),
            "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0"
        );
        // The empty blob.
        assert_eq!(
            Oid::of_blob(b"").to_hex(),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
    }

    #[test]
    fn commit_fields() {
        let c = parse_commit(
            b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
              parent e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\n\
              author A <a@b> 1 +0000\n\
              committer C <c@d> 1700000000 +0100\n\
              \n\
              committer X <x> 5 +0000\n",
        )
        .unwrap();
        assert_eq!(c.tree.to_hex(), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
        assert_eq!(c.parents.len(), 1);
        assert_eq!(c.commit_time, 1700000000);
    }

    #[test]
    fn malformed_objects_are_errors() {
        assert!(split_loose(b"blob 3\0ab").is_err());
        assert!(split_loose(b"blob3\0abc").is_err());
        assert!(tree_entries(b"100644 a\0short").is_err());
        assert!(tree_entries(b"999999 a\0aaaaaaaaaaaaaaaaaaaa").is_err());
        assert!(parse_commit(b"author x\n").is_err());
    }
}
