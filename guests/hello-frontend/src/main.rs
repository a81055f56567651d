//! hello-frontend: the smallest real non-Nix frontend. It reads `package.toml` (or
//! `package.json`) from its source directory, adds the builder script and the listed
//! sources to the store, and writes a derivation through the evalbox store interface — the
//! same `.drv` that `nix-instantiate` produces for the equivalent Nix expression:
//!
//! ```nix
//! derivation ({
//!   name = "${name}-${version}"; inherit system version; builder = "/bin/sh";
//!   args = [ "-e" ./${script} ];
//!   ${source} = ./${source};   # for each of `sources`
//! } // env)
//! ```
//!
//! Usage: `evalbox run --src DIR hello-frontend.wasm -- DIR`. Prints the `.drv` path, then
//! one `output path` line per output.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use evalbox_guest::derivation::DerivationBuilder;
use evalbox_guest::store::{self, HashAlgo, IngestionMethod};
use serde::Deserialize;

/// The package description.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Package {
    name: String,
    version: String,
    #[serde(default = "default_system")]
    system: String,
    #[serde(default = "default_builder")]
    builder: String,
    /// The build script, relative to the package directory; run as `builder -e script`.
    script: String,
    /// Files or directories, relative to the package directory, each added to the store and
    /// passed in an environment variable named after it.
    #[serde(default)]
    sources: Vec<String>,
    /// Extra environment variables.
    #[serde(default)]
    env: BTreeMap<String, String>,
}

fn default_system() -> String {
    "x86_64-linux".into()
}

fn default_builder() -> String {
    "/bin/sh".into()
}

fn read_package(dir: &str) -> Result<Package, String> {
    let toml_path = format!("{dir}/package.toml");
    let json_path = format!("{dir}/package.json");
    if let Ok(text) = std::fs::read_to_string(&toml_path) {
        return toml::from_str(&text).map_err(|e| format!("{toml_path}: {e}"));
    }
    match std::fs::read_to_string(&json_path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{json_path}: {e}")),
        Err(e) => Err(format!(
            "no package description: cannot read {toml_path} or {json_path} ({e})"
        )),
    }
}

/// Adds `dir/rel` to the store like Nix's path coercion does (`"${./rel}"`).
fn add_source(dir: &str, rel: &str) -> Result<String, String> {
    if rel.is_empty() || rel.starts_with('/') || rel.split('/').any(|c| c == ".." || c == ".") {
        return Err(format!(
            "`{rel}`: sources must be relative paths inside the package"
        ));
    }
    let name = Path::new(rel)
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("`{rel}` has no file name"))?;
    let info = store::add_path_to_store(
        name,
        &format!("{dir}/{rel}"),
        IngestionMethod::Recursive,
        HashAlgo::Sha256,
    )
    .map_err(|e| format!("adding {rel}: {e}"))?;
    Ok(info.path)
}

fn run() -> Result<(), String> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: hello-frontend PACKAGE_DIR")?;
    let dir = dir.trim_end_matches('/');
    let package = read_package(dir)?;
    let script = add_source(dir, &package.script)?;
    let mut drv = DerivationBuilder::new(
        &format!("{}-{}", package.name, package.version),
        &package.system,
        &package.builder,
    )
    .args(["-e", script.as_str()])
    .env("version", &package.version)
    .input_src(&script);
    for source in &package.sources {
        let path = add_source(dir, source)?;
        let var = Path::new(source)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(source);
        drv = drv.env(var, &path).input_src(&path);
    }
    for (k, v) in &package.env {
        drv = drv.env(k, v);
    }
    let added = drv.add().map_err(|e| e.to_string())?;
    println!("{}", added.drv_path);
    for (name, path) in &added.outputs {
        println!("{name} {path}");
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hello-frontend: {message}");
            ExitCode::FAILURE
        }
    }
}
