//! Nix's built-in "corepkgs": files that `<nix/...>` resolves to without any search-path
//! entry. Only `fetchurl.nix` exists in current Nix; ours is a function (as in Nix) whose
//! result fails, since fetching is impossible in a sandboxed evaluator.

/// The virtual path `<nix/fetchurl.nix>` resolves to.
pub const FETCHURL_PATH: &str = "/__nix_corepkgs__/fetchurl.nix";

const FETCHURL: &str = r#"{ url ? null, urls ? [ ], ... }@args:
throw "fetchurl (${if url != null then url else toString urls}) is not available in a sandboxed evaluator"
"#;

/// The source of a corepkgs file, if `path` is one.
pub fn lookup(path: &str) -> Option<&'static str> {
    (path == FETCHURL_PATH).then_some(FETCHURL)
}
