//! Tries every way of modifying a read-only source directory.
use std::fs;
use std::io::Write as _;

fn main() {
    let src = test_programs::src_dir();
    let mut r = test_programs::Report::default();
    r.expect_err("create file", fs::File::create(format!("{src}/new.txt")));
    r.expect_err(
        "write existing",
        fs::write(format!("{src}/file.txt"), "overwritten"),
    );
    r.expect_err(
        "append existing",
        fs::OpenOptions::new()
            .append(true)
            .open(format!("{src}/file.txt"))
            .and_then(|mut f| f.write_all(b"more")),
    );
    r.expect_err(
        "truncate existing",
        fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(format!("{src}/file.txt")),
    );
    r.expect_err(
        "open read-write",
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("{src}/file.txt")),
    );
    r.expect_err("create dir", fs::create_dir(format!("{src}/newdir")));
    r.expect_err(
        "rename",
        fs::rename(format!("{src}/file.txt"), format!("{src}/renamed.txt")),
    );
    r.expect_err("delete file", fs::remove_file(format!("{src}/file.txt")));
    r.expect_err("delete dir", fs::remove_dir(format!("{src}/sub")));
    r.expect_err("delete tree", fs::remove_dir_all(format!("{src}/sub")));
    r.expect_err(
        "chmod",
        fs::metadata(format!("{src}/file.txt")).and_then(|m| {
            let mut p = m.permissions();
            p.set_readonly(!p.readonly());
            fs::set_permissions(format!("{src}/file.txt"), p)
        }),
    );
    r.expect_err("symlink", symlink("file.txt", &format!("{src}/link")));
    r.expect_err(
        "hardlink",
        fs::hard_link(format!("{src}/file.txt"), format!("{src}/hard")),
    );
    r.expect_err(
        "set mtime",
        fs::File::open(format!("{src}/file.txt"))
            .and_then(|f| f.set_modified(std::time::SystemTime::UNIX_EPOCH)),
    );
    r.expect_err(
        "set length",
        fs::File::open(format!("{src}/file.txt")).and_then(|f| f.set_len(0)),
    );
    r.expect_err(
        "write through read handle",
        fs::File::open(format!("{src}/file.txt")).and_then(|mut f| f.write_all(b"x")),
    );
    r.expect_err("create at root", fs::File::create("/evalbox-escape"));
    r.expect_err("create in /tmp", fs::File::create("/tmp/evalbox-escape"));
    r.finish()
}

/// `symlinkat` through the raw WASI call (std's wrapper is unstable): on the preopen whose
/// guest path is the link's directory.
#[cfg(target_os = "wasi")]
fn symlink(target: &str, link: &str) -> Result<(), String> {
    let (dir, name) = link.rsplit_once('/').ok_or("link path has no directory")?;
    let (descriptor, _) = wasip2::filesystem::preopens::get_directories()
        .into_iter()
        .find(|(_, path)| path == dir)
        .ok_or_else(|| format!("no preopen at {dir}"))?;
    descriptor
        .symlink_at(target, name)
        .map_err(|e| format!("{e:?}"))
}

#[cfg(not(target_os = "wasi"))]
fn symlink(target: &str, link: &str) -> Result<(), String> {
    std::os::unix::fs::symlink(target, link).map_err(|e| e.to_string())
}
