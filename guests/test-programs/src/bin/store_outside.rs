//! Asks the store to add paths outside the source directory: every one must be refused
//! with a typed error (never a trap).
use evalbox_guest::store::{self, HashAlgo, IngestionMethod};

fn main() {
    let src = test_programs::src_dir();
    let mut r = test_programs::Report::default();
    let add = |path: &str| {
        store::add_path_to_store("x", path, IngestionMethod::Recursive, HashAlgo::Sha256)
    };
    for path in [
        "/etc".to_owned(),
        "/etc/passwd".to_owned(),
        format!("{src}/.."),
        format!("{src}/../secret.txt"),
        format!("{src}/link-dir/secret.txt"),
        format!("{src}x"),
        "relative".to_owned(),
    ] {
        let result = add(&path);
        if let Err(e) = &result {
            println!("error kind {} for {path}", e.kind());
        }
        r.expect_err(&format!("add {path}"), result);
    }
    let filtered = store::add_filtered_path_to_store(
        "x",
        &format!("{src}/.."),
        &["secret.txt"],
        IngestionMethod::Recursive,
        HashAlgo::Sha256,
    );
    r.expect_err("add filtered parent", filtered);
    // Names with `..` or `/` must not be usable to escape the store directory either.
    r.expect_err(
        "text with bad name",
        store::add_text_to_store("../../etc/evil", "x", &[]),
    );
    r.expect_err(
        "bad reference",
        store::add_text_to_store("ok", "x", &["/etc/passwd"]),
    );
    r.expect_err("invalid path query", store::is_valid_path("/etc/passwd"));
    r.finish()
}
