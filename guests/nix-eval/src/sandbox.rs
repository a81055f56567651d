//! Telling the user when the sandbox refused a read. In the wasm guest, `std::fs` reaches only
//! the read-only directories the host preopened; a path elsewhere fails like a missing file,
//! which would mislead a Nix user. The host names those directories to the guest
//! (`nix-eval --sandbox-root DIR`, see [`set_roots`]), and every file access of the evaluator
//! that fails on a path outside all of them reports one clear message naming the path. The
//! sandbox itself enforces the boundary; this only explains it. Without roots (natively),
//! nothing is ever reported as refused.

use std::sync::OnceLock;

static ROOTS: OnceLock<Vec<String>> = OnceLock::new();

/// Records the directories the guest can read (absolute, as the guest sees them). Only the
/// first call has an effect.
pub fn set_roots(roots: Vec<String>) {
    let _ = ROOTS.set(
        roots
            .into_iter()
            .map(|r| r.trim_end_matches('/').to_owned())
            .collect(),
    );
}

/// Whether `path` lies outside every sandbox root (false when no roots were set).
pub fn outside(path: &str) -> bool {
    ROOTS.get().is_some_and(|roots| outside_of(roots, path))
}

fn outside_of(roots: &[String], path: &str) -> bool {
    !roots.iter().any(|root| {
        root.is_empty()
            || path == root
            || path
                .strip_prefix(root.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// Whether the failed access to `path` was the sandbox refusing it: in the sandbox any
/// failure on a path outside the roots is, whatever error the guest's libc reported.
pub fn is_refusal(path: &str, _err: &std::io::Error) -> bool {
    outside(path)
}

/// The message for a refused access to `path`.
pub fn refusal_message(path: &str) -> String {
    format!(
        "access to path '{path}' is not allowed: it is outside the sandbox's read-only sources \
         (add its directory with --src DIR or -I)"
    )
}

/// `Some(message)` if the failed access `err` to `path` was the sandbox refusing it.
pub fn refusal(path: &str, err: &std::io::Error) -> Option<String> {
    is_refusal(path, err).then(|| refusal_message(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_bound_what_is_reported() {
        // The global roots are never set in tests: natively nothing is refused.
        let err = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert!(!is_refusal("/etc/passwd", &err));
        let roots = ["/work/src".to_owned(), "/nix/store".to_owned()];
        assert!(outside_of(&roots, "/etc/passwd"));
        assert!(outside_of(&roots, "/work/srcx/a.nix"));
        assert!(!outside_of(&roots, "/work/src"));
        assert!(!outside_of(&roots, "/work/src/a/b.nix"));
        assert!(!outside_of(&roots, "/nix/store/abc-x"));
        assert!(!outside_of(&[String::new()], "/anything"));
        assert_eq!(
            refusal_message("/etc/passwd"),
            "access to path '/etc/passwd' is not allowed: it is outside the sandbox's read-only \
             sources (add its directory with --src DIR or -I)"
        );
    }
}
