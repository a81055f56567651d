//! Paths as Nix writes them: lexical canonicalisation (shared with the host through
//! `nix-args`), no file system access.

pub use nix_args::canon_path;

/// The directory part of an absolute path.
pub fn parent_dir(p: &str) -> String {
    match p.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => p[..i].into(),
        None => ".".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canon() {
        assert_eq!(canon_path("/a/./b/../c//d"), "/a/c/d");
        assert_eq!(canon_path("/.."), "/");
        assert_eq!(parent_dir("/a/b"), "/a");
        assert_eq!(parent_dir("/a"), "/");
    }
}
