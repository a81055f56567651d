//! Nix's built-in "corepkgs": files that `<nix/...>` resolves to without any search-path
//! entry. Only `fetchurl.nix` exists in current Nix: a function making the fixed-output
//! derivation that the store's `builtin:fetchurl` builds (its `.drv` is the one Nix writes).

/// The virtual path `<nix/fetchurl.nix>` resolves to.
pub const FETCHURL_PATH: &str = "/__nix_corepkgs__/fetchurl.nix";

/// The arguments and attributes of Nix's `fetchurl.nix`: a legacy hash argument names its
/// algorithm, an SRI `hash` carries its own; `unpack` means the download is a NAR.
const FETCHURL: &str = r#"{ system ? "", url, hash ? "", md5 ? "", sha1 ? "", sha256 ? "", sha512 ? ""
, outputHash ?
    if hash != "" then hash
    else if sha512 != "" then sha512
    else if sha1 != "" then sha1
    else if md5 != "" then md5
    else sha256
, outputHashAlgo ?
    if hash != "" then ""
    else if sha512 != "" then "sha512"
    else if sha1 != "" then "sha1"
    else if md5 != "" then "md5"
    else "sha256"
, executable ? false, unpack ? false, name ? baseNameOf (toString url), impure ? false
}:
derivation ({
  builder = "builtin:fetchurl";
  system = "builtin";
  outputHashMode = if unpack || executable then "recursive" else "flat";
  inherit name url executable unpack;
  preferLocalBuild = true;
  impureEnvVars = [ "http_proxy" "https_proxy" "ftp_proxy" "all_proxy" "no_proxy" ];
  urls = [ url ];
} // (if impure then { __impure = true; } else { inherit outputHashAlgo outputHash; }))
"#;

/// The source of a corepkgs file, if `path` is one.
pub fn lookup(path: &str) -> Option<&'static str> {
    (path == FETCHURL_PATH).then_some(FETCHURL)
}
