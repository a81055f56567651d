//! Fetching for results whose hash is known in advance: `builtins.fetchTarball` (unpacked here)
//! and `builtin:fetchurl` builds. The evaluator never fetches: the host does, only when the
//! expected store path is not valid yet, and the caller checks the hash of what arrived.
//!
//! URLs: `file://` (a host file) and `http://`/`https://` (ureq, rustls). Archives: tar, plain
//! or compressed with gzip, xz, bzip2 or zstd (recognised by their magic bytes, as libarchive
//! does for Nix), unpacked without ever writing outside the destination.

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use std::collections::BTreeSet;

use nix_formats::{ContentAddress, FileIngestionMethod, HashAlgo, NixHash, StorePath};

use crate::{AddSource, Error, NixStore, Result, TreeRoot};

/// `builtins.fetchTarball { url; sha256; name; }` on `store`: the path that `nar_hash`
/// (SHA-256 of the unpacked tree's NAR) fixes. Nothing is fetched when it is valid already;
/// otherwise the tarball is fetched, unpacked in a temporary directory and added, and a
/// different hash is Nix's "hash mismatch" error naming both (the path added meanwhile is a
/// valid, content-addressed path, as with Nix).
pub async fn add_tarball(
    store: &dyn NixStore,
    url: &str,
    name: &str,
    nar_hash: &NixHash,
) -> Result<StorePath> {
    if nar_hash.algo() != HashAlgo::Sha256 {
        return Err(Error::BadInput(format!(
            "fetchTarball of '{url}': the hash must be SHA-256, not {}",
            nar_hash.algo()
        )));
    }
    let none = BTreeSet::new();
    let method = FileIngestionMethod::Recursive;
    let path = store
        .store_dir()
        .make_fixed_output_path(name, method, nar_hash, &none, false)?;
    if store.is_valid_path(&path).await? {
        store.add_temp_root(&path).await?;
        return Ok(path);
    }
    let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let (owned_url, dir) = (url.to_owned(), tmp.path().to_owned());
    let top = tokio::task::spawn_blocking(move || fetch_tarball(&owned_url, &dir))
        .await
        .map_err(|e| Error::Fetch {
            url: url.to_owned(),
            message: format!("the fetching thread failed: {e}"),
        })??;
    let source = AddSource::Tree {
        root: TreeRoot::host(&top)?,
        filter: None,
    };
    let info = store
        .add_to_store(name, source, method, HashAlgo::Sha256, &none)
        .await?;
    if info.path != path {
        let got = match &info.ca {
            Some(ContentAddress::Fixed { hash, .. }) => hash.to_sri(),
            _ => info.nar_hash.to_sri(),
        };
        return Err(Error::BadInput(format!(
            "hash mismatch in file downloaded from '{url}':\n  specified: {}\n  got:       {got}",
            nar_hash.to_sri()
        )));
    }
    Ok(path)
}

/// A readable stream of the resource at `url`.
pub fn open(url: &str) -> Result<Box<dyn Read + Send>> {
    let fail = |message: String| Error::Fetch {
        url: url.to_owned(),
        message,
    };
    if let Some(path) = url.strip_prefix("file://") {
        let file = fs::File::open(path).map_err(|e| fail(e.to_string()))?;
        return Ok(Box::new(file));
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        let response = ureq::get(url).call().map_err(|e| fail(e.to_string()))?;
        return Ok(Box::new(response.into_body().into_reader()));
    }
    Err(Error::BadInput(format!(
        "cannot fetch '{url}': only file://, http:// and https:// URLs are supported"
    )))
}

/// Copies the resource at `url` to the new file `dst`.
pub fn download(url: &str, dst: &Path) -> Result<()> {
    let mut reader = open(url)?;
    let mut out = fs::File::create_new(dst).map_err(|e| Error::io(dst, e))?;
    io::copy(&mut reader, &mut out).map_err(|e| Error::Fetch {
        url: url.to_owned(),
        message: e.to_string(),
    })?;
    Ok(())
}

/// Unpacks the tarball at `url` into the empty directory `dst` and returns its single
/// top-level entry, as Nix's `fetchTarball` takes it (more than one is an error).
pub fn fetch_tarball(url: &str, dst: &Path) -> Result<PathBuf> {
    let fail = |message: String| Error::Fetch {
        url: url.to_owned(),
        message,
    };
    unpack(open(url)?, dst).map_err(|e| match e {
        Error::Io { source, .. } => fail(source.to_string()),
        e => e,
    })?;
    let mut members = Vec::new();
    for entry in fs::read_dir(dst).map_err(|e| Error::io(dst, e))? {
        members.push(entry.map_err(|e| Error::io(dst, e))?.path());
    }
    match <[PathBuf; 1]>::try_from(members) {
        Ok([top]) => Ok(top),
        Err(members) => Err(Error::BadInput(format!(
            "tarball '{url}' contains an unexpected number of top-level files ({})",
            members.len()
        ))),
    }
}

/// Unpacks a tar stream, plain or compressed, into `dst`. Entries that would land outside
/// `dst` (absolute paths, `..`) and special files are refused; ownership, timestamps and
/// extended attributes are not kept (a store path has none of them).
pub fn unpack(reader: impl Read, dst: &Path) -> Result<()> {
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let magic = reader.fill_buf().map_err(|e| Error::io(dst, e))?.to_vec();
    let decoded: Box<dyn Read> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(reader))
    } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Box::new(xz2::bufread::XzDecoder::new_multi_decoder(reader))
    } else if magic.starts_with(b"BZh") {
        Box::new(bzip2::bufread::MultiBzDecoder::new(reader))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(
            ruzstd::decoding::StreamingDecoder::new(reader)
                .map_err(|e| Error::BadInput(format!("invalid zstd stream: {e}")))?,
        )
    } else {
        Box::new(reader)
    };
    let mut archive = tar::Archive::new(decoded);
    archive.set_preserve_permissions(false);
    archive.set_preserve_mtime(false);
    archive.set_unpack_xattrs(false);
    archive.set_overwrite(true);
    let bad = |msg: String| Error::BadInput(format!("invalid tarball: {msg}"));
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let path = entry.path().map_err(|e| bad(e.to_string()))?.into_owned();
        if path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(bad(format!(
                "entry '{}' would be written outside the tree",
                path.display()
            )));
        }
        use tar::EntryType as T;
        match entry.header().entry_type() {
            T::Regular | T::Continuous | T::GNUSparse | T::Directory | T::Symlink | T::Link => {}
            // Metadata of other entries, already applied by the reader.
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => continue,
            other => {
                return Err(bad(format!(
                    "entry '{}' has an unsupported type ({other:?})",
                    path.display()
                )));
            }
        }
        entry
            .unpack_in(dst)
            .map_err(|e| bad(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tarball(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data, mode) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(*mode);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            b.append_data(&mut h, path, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn unpacks_plain_and_gzip_and_keeps_the_x_bit() {
        let tar = tarball(&[("top/a", b"a", 0o644), ("top/bin/x", b"x", 0o755)]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &tar).unwrap();
        for bytes in [tar.clone(), gz.finish().unwrap()] {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("file://{}", dir.path().join("t").display());
            fs::write(dir.path().join("t"), &bytes).unwrap();
            let out = dir.path().join("out");
            fs::create_dir(&out).unwrap();
            let top = fetch_tarball(&url, &out).unwrap();
            assert_eq!(top, out.join("top"));
            assert_eq!(fs::read(top.join("a")).unwrap(), b"a");
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(top.join("bin/x"))
                .unwrap()
                .permissions()
                .mode();
            assert_ne!(mode & 0o100, 0);
        }
    }

    /// Serves one HTTP response per connection, `status` with `body`, on loopback.
    fn serve(status: &'static str, body: Vec<u8>, connections: usize) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(connections) {
                let mut stream = stream.unwrap();
                let mut req = [0u8; 4096];
                let _ = io::Read::read(&mut stream, &mut req);
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = io::Write::write_all(&mut stream, head.as_bytes());
                let _ = io::Write::write_all(&mut stream, &body);
            }
        });
        format!("http://{addr}/file")
    }

    #[test]
    fn fetches_over_http() {
        let dir = tempfile::tempdir().unwrap();
        let url = serve("200 OK", b"over http".to_vec(), 1);
        download(&url, &dir.path().join("f")).unwrap();
        assert_eq!(fs::read(dir.path().join("f")).unwrap(), b"over http");
        let url = serve("404 Not Found", b"no".to_vec(), 1);
        let err = download(&url, &dir.path().join("g"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unable to download") && err.contains("404"),
            "{err}"
        );
        let tar = tarball(&[("top/a", b"a", 0o644)]);
        let url = serve("200 OK", tar, 1);
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        assert_eq!(fetch_tarball(&url, &out).unwrap(), out.join("top"));
    }

    #[test]
    fn refuses_escapes_and_several_tops() {
        let dir = tempfile::tempdir().unwrap();
        // tar::Builder refuses `..` itself: write the name into the header by hand.
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
        h.set_size(1);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        let mut bytes = h.as_bytes().to_vec();
        bytes.extend_from_slice(&[b'x'; 512]);
        bytes.extend_from_slice(&[0; 1024]);
        let err = unpack(&bytes[..], dir.path()).unwrap_err().to_string();
        assert!(err.contains("outside the tree"), "{err}");
        assert!(!dir.path().parent().unwrap().join("escape").exists());

        let two = tarball(&[("a", b"a", 0o644), ("b", b"b", 0o644)]);
        fs::write(dir.path().join("t"), two).unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        let url = format!("file://{}", dir.path().join("t").display());
        let err = fetch_tarball(&url, &out).unwrap_err().to_string();
        assert!(
            err.contains("unexpected number of top-level files"),
            "{err}"
        );
        let err = open("ftp://x/y").err().unwrap().to_string();
        assert!(err.contains("only file://"), "{err}");
    }
}
