//! Finding the store paths a build output refers to, as Nix does: by looking for the 32
//! nix-base32 characters of each candidate path's hash part anywhere in the output's NAR
//! serialisation. [`RefScanner`] is a `Write` sink, so it runs while the NAR is hashed.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Write};

use nix_formats::StorePath;

/// Length of a store path's hash part.
const HASH_LEN: usize = 32;

/// Whether `b` is a nix-base32 character (`0-9a-z` without `e o u t`).
fn is_base32(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'a'..=b'd' | b'f'..=b'n' | b'p'..=b's' | b'v'..=b'z')
}

/// Scans bytes written to it for the hash parts of candidate store paths.
#[derive(Debug)]
pub struct RefScanner {
    candidates: HashMap<[u8; HASH_LEN], StorePath>,
    found: BTreeSet<StorePath>,
    /// The last bytes of the previous write, so a hash split across writes is found.
    tail: Vec<u8>,
}

impl RefScanner {
    /// A scanner for references to any of `candidates`.
    pub fn new<'a>(candidates: impl IntoIterator<Item = &'a StorePath>) -> Self {
        RefScanner {
            candidates: candidates
                .into_iter()
                .filter_map(|p| {
                    let part: [u8; HASH_LEN] = p.hash_part().as_bytes().try_into().ok()?;
                    Some((part, p.clone()))
                })
                .collect(),
            found: BTreeSet::new(),
            tail: Vec::with_capacity(HASH_LEN),
        }
    }

    /// The candidates found so far.
    pub fn found(self) -> BTreeSet<StorePath> {
        self.found
    }

    fn scan(&mut self, data: &[u8]) {
        let mut i = 0;
        while i + HASH_LEN <= data.len() {
            // Check the window's last byte first: a non-base32 byte there skips the window.
            let end = i + HASH_LEN - 1;
            if !is_base32(data[end]) {
                i = end + 1;
                continue;
            }
            match data[i..=end].iter().rposition(|&b| !is_base32(b)) {
                Some(bad) => i += bad + 1,
                None => {
                    let window: &[u8; HASH_LEN] = data[i..=end].try_into().expect("32 bytes");
                    if let Some(p) = self.candidates.get(window) {
                        self.found.insert(p.clone());
                    }
                    i += 1;
                }
            }
        }
    }
}

impl Write for RefScanner {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.candidates.is_empty() {
            return Ok(buf.len());
        }
        // The previous tail joined with the new bytes' start covers hashes split between writes.
        let head = &buf[..buf.len().min(HASH_LEN - 1)];
        let mut joined = std::mem::take(&mut self.tail);
        joined.extend_from_slice(head);
        self.scan(&joined);
        self.scan(buf);
        let keep = buf.len().min(HASH_LEN - 1);
        if keep == buf.len() {
            // A short write: keep the joined bytes' end.
            let from = joined.len().saturating_sub(HASH_LEN - 1);
            self.tail = joined[from..].to_vec();
        } else {
            self.tail = buf[buf.len() - keep..].to_vec();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> StorePath {
        StorePath::from_base_name(s).unwrap()
    }

    #[test]
    fn finds_hashes_across_writes() {
        let a = path("7rjj86a15146cq1d7qhakajmij3qmd1r-a");
        let b = path("0nrbx4qnvjkj4xhqvzqrkmq3b24r2zkw-b");
        let c = path("1b9p07z77phvv2hf6vm9f2r2xz6ll3mn-c");
        let text = format!("#!/nix/store/{}/bin/sh\nexport PATH=/nix/store/{}\n", a, b);
        for split in 0..text.len() {
            let mut s = RefScanner::new([&a, &b, &c]);
            s.write_all(&text.as_bytes()[..split]).unwrap();
            for byte in text.as_bytes()[split..].chunks(3) {
                s.write_all(byte).unwrap();
            }
            assert_eq!(s.found(), [a.clone(), b.clone()].into(), "split at {split}");
        }
    }

    #[test]
    fn a_truncated_hash_is_no_reference() {
        let a = path("7rjj86a15146cq1d7qhakajmij3qmd1r-a");
        let mut s = RefScanner::new([&a]);
        s.write_all(b"7rjj86a15146cq1d7qhakajmij3qmd1").unwrap();
        assert!(s.found().is_empty());
    }
}
