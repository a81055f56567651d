//! Reading what is inside a valid store path: a file's contents, a directory's entries, a
//! symlink's target. Any backend can serve it from the path's NAR ([`find_in_nar`]); nothing
//! is followed, so nothing outside the store path can be reached.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix_formats::nar::reader::{Event, NarReader};
use nix_formats::nar::writer;

use crate::{Error, Result};

/// What a file system object is, without its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectKind {
    /// A regular file.
    Regular {
        /// Whether it is executable.
        executable: bool,
        /// Its size in bytes.
        size: u64,
    },
    /// A directory.
    Directory,
    /// A symbolic link and its target.
    Symlink(Vec<u8>),
}

/// A file system object with its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    /// A regular file.
    Regular {
        /// Whether it is executable.
        executable: bool,
        /// The contents.
        contents: Vec<u8>,
    },
    /// A directory: its entries, sorted by name, each with its kind.
    Directory(Vec<(Vec<u8>, ObjectKind)>),
    /// A symbolic link and its target.
    Symlink(Vec<u8>),
}

impl Object {
    /// What the object is.
    pub fn kind(&self) -> ObjectKind {
        match self {
            Object::Regular {
                executable,
                contents,
            } => ObjectKind::Regular {
                executable: *executable,
                size: contents.len() as u64,
            },
            Object::Directory(_) => ObjectKind::Directory,
            Object::Symlink(target) => ObjectKind::Symlink(target.clone()),
        }
    }
}

fn corrupt(e: nix_formats::nar::Error) -> Error {
    Error::Corrupt(format!("a store path's NAR: {e}"))
}

/// The object at `rel` (names of directory entries, from the root) in the NAR `nar`, or
/// `None` when there is none: a missing entry, or a file or symlink where a directory would
/// have to be.
pub fn find_in_nar(nar: &[u8], rel: &[&[u8]]) -> Result<Option<Object>> {
    let mut r = NarReader::new(nar);
    let Some(event) = descend(&mut r, rel)? else {
        return Ok(None);
    };
    Ok(Some(match event {
        Event::File { executable, .. } => {
            let mut contents = Vec::new();
            r.contents()
                .read_to_end(&mut contents)
                .map_err(|e| corrupt(e.into()))?;
            Object::Regular {
                executable,
                contents,
            }
        }
        Event::Symlink(target) => Object::Symlink(target),
        Event::DirStart => {
            let mut entries = Vec::new();
            while let Some(Event::Entry(name)) = r.next_event().map_err(corrupt)? {
                let kind = match r.next_event().map_err(corrupt)? {
                    Some(Event::File { executable, size }) => {
                        ObjectKind::Regular { executable, size }
                    }
                    Some(Event::Symlink(target)) => ObjectKind::Symlink(target),
                    Some(Event::DirStart) => {
                        skip_dir(&mut r)?;
                        ObjectKind::Directory
                    }
                    _ => return Err(Error::Corrupt("a NAR entry without a node".into())),
                };
                entries.push((name, kind));
            }
            Object::Directory(entries)
        }
        _ => return Err(Error::Corrupt("a NAR without a root node".into())),
    }))
}

/// The NAR of the object at `rel` in the NAR `nar`, keeping below it only the entries whose
/// path relative to it (`/`-separated) `keep` accepts (a directory not kept is skipped
/// whole); `None` when nothing is at `rel`. This is how a tree inside a store path is added
/// to the store again (`builtins.path`, `filterSource` or `fetchGit` of a store path).
pub fn filtered_subtree(
    nar: &[u8],
    rel: &[&[u8]],
    keep: &dyn Fn(&Path) -> bool,
) -> Result<Option<Vec<u8>>> {
    let mut r = NarReader::new(nar);
    let Some(event) = descend(&mut r, rel)? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    let root = writer::open(&mut out).map_err(corrupt)?;
    copy_node(&mut r, event, root, &mut PathBuf::new(), keep)?;
    Ok(Some(out))
}

/// Reads `r` down to the object at `rel` (names of directory entries, from the root): the
/// event that starts its node, or `None` when nothing is there (a missing entry, or a file
/// or symlink where a directory would have to be).
fn descend(r: &mut NarReader<&[u8]>, rel: &[&[u8]]) -> Result<Option<Event>> {
    let mut event = r
        .next_event()
        .map_err(corrupt)?
        .ok_or_else(|| Error::Corrupt("a NAR without a root node".into()))?;
    for name in rel {
        if event != Event::DirStart {
            return Ok(None);
        }
        loop {
            match r.next_event().map_err(corrupt)? {
                Some(Event::Entry(entry)) if entry == *name => break,
                Some(Event::Entry(_)) => skip_node(r)?,
                _ => return Ok(None),
            }
        }
        event = r
            .next_event()
            .map_err(corrupt)?
            .ok_or_else(|| Error::Corrupt("a NAR entry without a node".into()))?;
    }
    Ok(Some(event))
}

/// Writes the node that starts with `event` (read from `r`) to `node`, filtered by `keep`.
fn copy_node<W: Write>(
    r: &mut NarReader<&[u8]>,
    event: Event,
    node: writer::Node<'_, W>,
    at: &mut PathBuf,
    keep: &dyn Fn(&Path) -> bool,
) -> Result<()> {
    match event {
        Event::File { executable, size } => node
            .file(executable, size, &mut r.contents())
            .map_err(corrupt),
        Event::Symlink(target) => node.symlink(&target).map_err(corrupt),
        Event::DirStart => {
            let mut dir = node.directory().map_err(corrupt)?;
            loop {
                match r.next_event().map_err(corrupt)? {
                    Some(Event::Entry(name)) => {
                        at.push(OsStr::from_bytes(&name));
                        if keep(at) {
                            let child = r.next_event().map_err(corrupt)?.ok_or_else(|| {
                                Error::Corrupt("a NAR entry without a node".into())
                            })?;
                            copy_node(r, child, dir.entry(&name).map_err(corrupt)?, at, keep)?;
                        } else {
                            skip_node(r)?;
                        }
                        at.pop();
                    }
                    Some(Event::DirEnd) => return dir.close().map_err(corrupt),
                    _ => return Err(Error::Corrupt("a NAR directory without its end".into())),
                }
            }
        }
        _ => Err(Error::Corrupt("a NAR node expected".into())),
    }
}

/// Skips the node of an entry whose name was just read.
fn skip_node(r: &mut NarReader<&[u8]>) -> Result<()> {
    match r.next_event().map_err(corrupt)? {
        Some(Event::DirStart) => skip_dir(r),
        Some(_) => Ok(()),
        None => Err(Error::Corrupt("a NAR entry without a node".into())),
    }
}

/// Skips the rest of a directory whose start was just read.
fn skip_dir(r: &mut NarReader<&[u8]>) -> Result<()> {
    let mut depth = 1;
    while depth > 0 {
        match r.next_event().map_err(corrupt)? {
            Some(Event::DirStart) => depth += 1,
            Some(Event::DirEnd) => depth -= 1,
            Some(_) => {}
            None => return Err(Error::Corrupt("a NAR directory without its end".into())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nar() -> Vec<u8> {
        let mut buf = Vec::new();
        let root = nix_formats::nar::writer::open(&mut buf).unwrap();
        let mut dir = root.directory().unwrap();
        dir.entry(b"a.nix")
            .unwrap()
            .file(false, 1, &mut &b"1"[..])
            .unwrap();
        {
            let mut bin = dir.entry(b"bin").unwrap().directory().unwrap();
            bin.entry(b"run")
                .unwrap()
                .file(true, 2, &mut &b"#!"[..])
                .unwrap();
            bin.close().unwrap();
        }
        dir.entry(b"link").unwrap().symlink(b"a.nix").unwrap();
        dir.close().unwrap();
        buf
    }

    #[test]
    fn subtrees_are_cut_out_and_filtered() {
        let nar = nar();
        let all = |_: &Path| true;
        // The whole tree, unfiltered, is the same NAR.
        assert_eq!(
            filtered_subtree(&nar, &[], &all).unwrap(),
            Some(nar.clone())
        );
        // A subdirectory, and a tree keeping only `bin` (and so not `bin/run`).
        let bin = filtered_subtree(&nar, &[b"bin"], &all).unwrap().unwrap();
        assert_eq!(
            find_in_nar(&bin, &[b"run"]).unwrap(),
            find_in_nar(&nar, &[b"bin", b"run"]).unwrap()
        );
        let only_bin = filtered_subtree(&nar, &[], &|p: &Path| p == Path::new("bin"))
            .unwrap()
            .unwrap();
        assert_eq!(
            find_in_nar(&only_bin, &[]).unwrap(),
            Some(Object::Directory(vec![(
                b"bin".to_vec(),
                ObjectKind::Directory
            )]))
        );
        assert_eq!(
            find_in_nar(&only_bin, &[b"bin"]).unwrap(),
            Some(Object::Directory(Vec::new()))
        );
        assert_eq!(filtered_subtree(&nar, &[b"missing"], &all).unwrap(), None);
        assert_eq!(
            filtered_subtree(&nar, &[b"a.nix", b"x"], &all).unwrap(),
            None
        );
    }

    #[test]
    fn finds_objects_without_following_anything() {
        let nar = nar();
        assert_eq!(
            find_in_nar(&nar, &[b"bin", b"run"]).unwrap(),
            Some(Object::Regular {
                executable: true,
                contents: b"#!".to_vec()
            })
        );
        assert_eq!(
            find_in_nar(&nar, &[b"link"]).unwrap(),
            Some(Object::Symlink(b"a.nix".to_vec()))
        );
        assert_eq!(find_in_nar(&nar, &[b"link", b"x"]).unwrap(), None);
        assert_eq!(find_in_nar(&nar, &[b"a.nix", b"x"]).unwrap(), None);
        assert_eq!(find_in_nar(&nar, &[b"missing"]).unwrap(), None);
        let Some(Object::Directory(entries)) = find_in_nar(&nar, &[]).unwrap() else {
            panic!("the root is a directory")
        };
        assert_eq!(
            entries,
            vec![
                (
                    b"a.nix".to_vec(),
                    ObjectKind::Regular {
                        executable: false,
                        size: 1
                    }
                ),
                (b"bin".to_vec(), ObjectKind::Directory),
                (b"link".to_vec(), ObjectKind::Symlink(b"a.nix".to_vec())),
            ]
        );
    }
}
