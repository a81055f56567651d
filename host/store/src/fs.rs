//! The filesystem side of store contents: NAR-serialising a host file tree (optionally copying
//! it at the same time), unpacking a NAR into a directory, making a tree read-only the way Nix
//! does (files 0444/0555, directories 0555, mtime 1), and durable writes.
//!
//! The NAR format itself lives in `nix_formats::nar`; this module only walks directories.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use cap_std::fs::{Dir, MetadataExt as _};
use filetime::FileTime;
use nix_formats::hash::Hasher;
use nix_formats::nar::Error as NarError;
use nix_formats::nar::reader::{Event, NarReader};
use nix_formats::nar::writer::{self, Node};
use nix_formats::{HashAlgo, NixHash};

use crate::{Error, PathFilter, Result};

/// A `Write` sink that computes the NAR hash (SHA-256), optionally a second hash (for
/// fixed-output paths with another algorithm), and counts bytes.
#[derive(Debug)]
pub struct HashSink {
    sha256: Hasher,
    other: Option<Hasher>,
    size: u64,
}

impl HashSink {
    /// A sink hashing with SHA-256, plus `other` unless it is SHA-256 too.
    pub fn new(other: HashAlgo) -> Self {
        HashSink {
            sha256: Hasher::new(HashAlgo::Sha256),
            other: (other != HashAlgo::Sha256).then(|| Hasher::new(other)),
            size: 0,
        }
    }

    /// (SHA-256, the other hash (SHA-256 again when it was SHA-256), byte count).
    pub fn finish(self) -> (NixHash, NixHash, u64) {
        let sha = self.sha256.finish();
        let other = match self.other {
            Some(h) => h.finish(),
            None => sha,
        };
        (sha, other, self.size)
    }
}

impl Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sha256.update(buf);
        if let Some(h) = &mut self.other {
            h.update(buf);
        }
        self.size += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A reader that copies everything it reads into a writer.
struct Tee<'a, R, W> {
    inner: R,
    copy: Option<&'a mut W>,
    path: &'a Path,
    error: Option<io::Error>,
}

impl<R: Read, W: Write> Read for Tee<'_, R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(w) = self.copy.as_deref_mut()
            && let Err(e) = w.write_all(&buf[..n])
        {
            let msg = format!("writing a copy of {}: {e}", self.path.display());
            self.error = Some(io::Error::new(e.kind(), msg.clone()));
            return Err(io::Error::new(e.kind(), msg));
        }
        Ok(n)
    }
}

const COPY_BUF: usize = 256 * 1024;

/// NAR-serialise the tree at the host path `src` into `sink` (see [`dump_beneath`]).
pub fn dump_tree<W: Write>(
    src: &Path,
    filter: Option<&PathFilter>,
    sink: &mut W,
    copy_to: Option<&Path>,
) -> Result<()> {
    let (dir, name) = open_parent(src)?;
    dump_beneath(&dir, &name, filter, sink, copy_to)
}

/// The directory holding `path` (opened with the process's authority) and `path`'s name in
/// it (`.` for `/`).
pub fn open_parent(path: &Path) -> Result<(Dir, PathBuf)> {
    let (parent, name) = match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => (
            if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            },
            PathBuf::from(name),
        ),
        _ => (path, PathBuf::from(".")),
    };
    let dir = Dir::open_ambient_dir(parent, cap_std::ambient_authority())
        .map_err(|e| Error::io(parent, e))?;
    Ok((dir, name))
}

/// NAR-serialise the tree at `src`, a path below the directory `dir`, into `sink`; nothing
/// outside `dir` is read, whatever the tree holds. When `copy_to` is given, also recreate the
/// tree there (which must not exist). `filter` sees paths relative to `src`; the root is
/// always included. Symlinks are recorded, never followed, including `src` itself.
pub fn dump_beneath<W: Write>(
    dir: &Dir,
    src: &Path,
    filter: Option<&PathFilter>,
    sink: &mut W,
    copy_to: Option<&Path>,
) -> Result<()> {
    let node = writer::open(sink).map_err(|e| nar_err(src, e))?;
    dump_node(dir, src, Path::new(""), filter, node, copy_to)
}

/// A NAR error met while serialising the host path `path`.
fn nar_err(path: &Path, e: NarError) -> Error {
    match e {
        NarError::Io(msg, kind) => Error::io(path, io::Error::new(kind, msg)),
        NarError::SizeMismatch { expected, got } => Error::BadInput(format!(
            "{}: file changed while it was being read ({expected} bytes expected, {got} read)",
            path.display()
        )),
        other => Error::BadInput(format!("{}: {other}", path.display())),
    }
}

fn dump_node<W: Write>(
    root: &Dir,
    path: &Path,
    rel: &Path,
    filter: Option<&PathFilter>,
    node: Node<'_, W>,
    copy_to: Option<&Path>,
) -> Result<()> {
    let meta = root
        .symlink_metadata(path)
        .map_err(|e| Error::io(path, e))?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = root
            .read_link_contents(path)
            .map_err(|e| Error::io(path, e))?;
        let target_bytes = target.as_os_str().as_encoded_bytes();
        node.symlink(target_bytes).map_err(|e| nar_err(path, e))?;
        if let Some(dst) = copy_to {
            std::os::unix::fs::symlink(&target, dst).map_err(|e| Error::io(dst, e))?;
        }
    } else if ft.is_file() {
        let executable = meta.mode() & 0o100 != 0; // S_IXUSR, as Nix
        let f = root.open(path).map_err(|e| Error::io(path, e))?.into_std();
        let mut out = match copy_to {
            Some(dst) => Some(create_file(dst, executable)?),
            None => None,
        };
        let mut tee = Tee {
            inner: io::BufReader::with_capacity(COPY_BUF, f),
            copy: out.as_mut(),
            path,
            error: None,
        };
        let res = node.file(executable, meta.len(), &mut tee);
        if let Some(e) = tee.error.take() {
            return Err(Error::io(copy_to.unwrap_or(path), e));
        }
        res.map_err(|e| nar_err(path, e))?;
    } else if ft.is_dir() {
        if let Some(dst) = copy_to {
            fs::create_dir(dst).map_err(|e| Error::io(dst, e))?;
        }
        let mut names = Vec::new();
        for entry in root.read_dir(path).map_err(|e| Error::io(path, e))? {
            let entry = entry.map_err(|e| Error::io(path, e))?;
            names.push(entry.file_name());
        }
        names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
        let mut dir = node.directory().map_err(|e| nar_err(path, e))?;
        for name in names {
            let child_rel = rel.join(&name);
            if let Some(f) = filter
                && !f(&child_rel)
            {
                continue;
            }
            let child = dir
                .entry(name.as_encoded_bytes())
                .map_err(|e| nar_err(&path.join(&name), e))?;
            let child_copy = copy_to.map(|d| d.join(&name));
            dump_node(
                root,
                &path.join(&name),
                &child_rel,
                filter,
                child,
                child_copy.as_deref(),
            )?;
        }
        dir.close().map_err(|e| nar_err(path, e))?;
        if let Some(dst) = copy_to {
            sync_dir(dst)?;
        }
    } else {
        return Err(Error::BadInput(format!(
            "file '{}' has an unsupported type (not a regular file, directory or symlink)",
            path.display()
        )));
    }
    Ok(())
}

fn create_file(dst: &Path, executable: bool) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if executable { 0o755 } else { 0o644 })
        .open(dst)
        .map_err(|e| Error::io(dst, e))
}

/// Unpack the NAR read from `nar` into `dst` (which must not exist), validating it strictly;
/// the input must end right after the NAR.
pub fn restore_nar<R: Read>(nar: R, dst: &Path) -> Result<R> {
    let bad = |e: NarError| match e {
        NarError::Io(msg, kind) => Error::io(dst, io::Error::new(kind, msg)),
        other => Error::BadInput(format!("invalid NAR: {other}")),
    };
    let mut reader = NarReader::new(nar);
    // The stack of directories being filled, and the path the next node goes to.
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut next: Option<PathBuf> = Some(dst.to_path_buf());
    while let Some(ev) = reader.next_event().map_err(bad)? {
        match ev {
            Event::File { executable, .. } => {
                let target = next
                    .take()
                    .ok_or(NarError::Misuse("node without a name"))
                    .map_err(bad)?;
                let mut out = create_file(&target, executable)?;
                let mut buf = vec![0u8; COPY_BUF];
                loop {
                    let n = reader.read_contents(&mut buf).map_err(bad)?;
                    if n == 0 {
                        break;
                    }
                    out.write_all(&buf[..n])
                        .map_err(|e| Error::io(&target, e))?;
                }
            }
            Event::Symlink(target) => {
                let at = next
                    .take()
                    .ok_or(NarError::Misuse("node without a name"))
                    .map_err(bad)?;
                std::os::unix::fs::symlink(OsStr::from_bytes(&target), &at)
                    .map_err(|e| Error::io(&at, e))?;
            }
            Event::DirStart => {
                let at = next
                    .take()
                    .ok_or(NarError::Misuse("node without a name"))
                    .map_err(bad)?;
                fs::create_dir(&at).map_err(|e| Error::io(&at, e))?;
                dirs.push(at);
            }
            Event::Entry(name) => {
                let parent = dirs
                    .last()
                    .ok_or(NarError::Misuse("entry outside a directory"))
                    .map_err(bad)?;
                next = Some(parent.join(OsStr::from_bytes(&name)));
            }
            Event::DirEnd => {
                let done = dirs
                    .pop()
                    .ok_or(NarError::Misuse("unbalanced directory end"))
                    .map_err(bad)?;
                sync_dir(&done)?;
            }
        }
    }
    reader.finish_eof().map_err(bad)
}

/// Give a tree Nix's canonical store permissions and timestamps: directories 0555, executable
/// files 0555, other files 0444, and mtime 1 on everything (symlinks included).
pub fn make_read_only(path: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
    let one = FileTime::from_unix_time(1, 0);
    if meta.file_type().is_symlink() {
        filetime::set_symlink_file_times(path, one, one).map_err(|e| Error::io(path, e))?;
        return Ok(());
    }
    if meta.is_dir() {
        for entry in fs::read_dir(path).map_err(|e| Error::io(path, e))? {
            let entry = entry.map_err(|e| Error::io(path, e))?;
            make_read_only(&entry.path())?;
        }
        fs::set_permissions(path, fs::Permissions::from_mode(0o555))
            .map_err(|e| Error::io(path, e))?;
    } else {
        let mode = if meta.mode() & 0o100 != 0 {
            0o555
        } else {
            0o444
        };
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(path, e))?;
    }
    filetime::set_symlink_file_times(path, one, one).map_err(|e| Error::io(path, e))?;
    Ok(())
}

/// Remove a tree even when it is read-only. A missing path is not an error.
pub fn remove_tree(path: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(path, e)),
    };
    if meta.is_dir() {
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(path, e))?;
        for entry in fs::read_dir(path).map_err(|e| Error::io(path, e))? {
            let entry = entry.map_err(|e| Error::io(path, e))?;
            remove_tree(&entry.path())?;
        }
        fs::remove_dir(path).map_err(|e| Error::io(path, e))
    } else {
        fs::remove_file(path).map_err(|e| Error::io(path, e))
    }
}

/// fsync a directory (its entries become durable).
pub fn sync_dir(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// fsync every regular file and directory of the tree at `path` (symlinks have nothing to
/// sync; their directory holds them).
pub fn sync_tree(path: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        for entry in fs::read_dir(path).map_err(|e| Error::io(path, e))? {
            let entry = entry.map_err(|e| Error::io(path, e))?;
            sync_tree(&entry.path())?;
        }
    } else if !meta.is_file() {
        return Ok(());
    }
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Make `at` a symlink to `target`, atomically replacing what is there (a new link under a
/// temporary name, renamed over it), as Nix's `makeSymlink`.
pub fn replace_symlink(target: &Path, at: &Path) -> Result<()> {
    let mut tmp = at.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, at).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(at, e)
    })
}

/// Write `bytes` to `path` durably and atomically (temporary file, fsync, rename, fsync dir).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    sync_dir(dir)
}
