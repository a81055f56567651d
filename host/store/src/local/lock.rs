//! Per-path locks compatible with Nix's `PathLocks`: an exclusive `flock` on
//! `<real store path>.lock`. A lock file that its holder deleted is marked by writing to it
//! before unlinking, so a waiter that then acquires the stale inode notices (non-zero size) and
//! retries on a fresh file, exactly as Nix does.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Opens (creating) the lock file at `path` for reading and writing, keeping its contents;
/// not locked yet. Nix's lock files (`big-lock`, `gc.lock`, `<path>.lock`) are all opened so.
pub(super) fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

/// A held path lock; released (and its file removed) on drop.
#[derive(Debug)]
pub struct PathLock {
    file: File,
    path: PathBuf,
}

impl PathLock {
    /// Block until the lock for `real_path` is held by this process.
    pub fn acquire(real_path: &Path) -> Result<Self> {
        let mut lock_path = real_path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        loop {
            let file = open_lock_file(&lock_path)?;
            file.lock().map_err(|e| Error::io(&lock_path, e))?;
            let len = file.metadata().map_err(|e| Error::io(&lock_path, e))?.len();
            if len != 0 {
                // The previous holder deleted this file after we opened it: retry.
                continue;
            }
            return Ok(PathLock {
                file,
                path: lock_path,
            });
        }
    }
}

impl Drop for PathLock {
    fn drop(&mut self) {
        // Mark as stale before unlinking so that waiters holding the old inode retry.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.write_all(b"d");
        let _ = self.file.unlock();
    }
}
