//! Tries to read outside the source directory: `..` traversal, absolute host paths, a
//! symlink inside the source pointing out, listing `/`.
use std::fs;

fn main() {
    let src = test_programs::src_dir();
    let secret = std::env::args()
        .nth(2)
        .expect("usage: fs_read_outside SRC SECRET");
    let mut r = test_programs::Report::default();
    // The source itself is readable (so the failures below are not a broken preopen).
    r.expect(
        "control: source readable",
        fs::read_to_string(format!("{src}/file.txt")).is_ok(),
    );
    r.expect_err("dotdot", fs::read_to_string(format!("{src}/../secret.txt")));
    r.expect_err(
        "dotdot deep",
        fs::read_to_string(format!("{src}/sub/../../secret.txt")),
    );
    r.expect_err(
        "dotdot many",
        fs::read_to_string(format!("{src}/../../../../../../etc/passwd")),
    );
    r.expect_err("absolute secret", fs::read_to_string(&secret));
    r.expect_err("etc passwd", fs::read_to_string("/etc/passwd"));
    r.expect_err("proc self", fs::read_to_string("/proc/self/environ"));
    r.expect_err("list root", fs::read_dir("/").map(|d| d.count()));
    r.expect_err(
        "list parent",
        fs::read_dir(format!("{src}/..")).map(|d| d.count()),
    );
    r.expect_err("symlink out", fs::read_to_string(format!("{src}/link-out")));
    r.expect_err(
        "symlink absolute out",
        fs::read_to_string(format!("{src}/link-abs")),
    );
    r.expect_err(
        "symlink dir out",
        fs::read_to_string(format!("{src}/link-dir/secret.txt")),
    );
    r.expect_err("relative path", fs::read_to_string("file.txt"));
    r.finish()
}
