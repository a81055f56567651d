//! The evaluator world (`guest-abi/wit`, world `evaluator`) as the host reads it: `build.rs`
//! lists its imports and exports from the WIT itself, so the capability audit's allowlist
//! ([`super::audit`]) and the linker (`crate::sandbox`) cannot drift from the contract
//! guests are written against, nor from each other.

mod generated {
    include!(concat!(env!("OUT_DIR"), "/evaluator_world.rs"));
}

pub use generated::{DENIED, EXPORTS, IMPORTS};

/// Splits `ns:pkg/iface@1.2.3` into the interface and its version.
pub fn split(name: &str) -> Option<(&str, &str)> {
    name.split_once('@')
}

/// Whether a component's import or export `name` is the world's `item`: the same interface,
/// at a compatible version (the same major version, and for `0.x` the same minor one; any
/// patch release).
pub fn matches(name: &str, item: &str) -> bool {
    match (split(name), split(item)) {
        (Some((iface, version)), Some((world_iface, world_version))) => {
            iface == world_iface && compatible(version, world_version)
        }
        _ => false,
    }
}

/// Whether `name` is one of the world's imports (see [`matches`]).
pub fn imports(name: &str) -> bool {
    IMPORTS.iter().any(|item| matches(name, item))
}

/// Whether `name` is one of the interfaces provided denied (the `denied` world).
pub fn denied(name: &str) -> bool {
    DENIED.iter().any(|item| matches(name, item))
}

/// Whether `name` is one of the world's exports (see [`matches`]).
pub fn exports(name: &str) -> bool {
    EXPORTS.iter().any(|item| matches(name, item))
}

/// Semver compatibility of `version` with `wanted` (both `major.minor.patch`, pre-release and
/// build suffixes allowed on the patch).
fn compatible(version: &str, wanted: &str) -> bool {
    fn parts(v: &str) -> Option<(u64, u64)> {
        let mut parts = v.split('.');
        let (major, minor, patch) = (parts.next()?, parts.next()?, parts.next()?);
        let patch = patch.split(['-', '+']).next().unwrap_or_default();
        patch.parse::<u64>().ok()?;
        parts
            .next()
            .is_none()
            .then_some((major.parse().ok()?, minor.parse().ok()?))
    }
    match (parts(version), parts(wanted)) {
        (Some((0, minor)), Some((0, wanted_minor))) => minor == wanted_minor,
        (Some((major, _)), Some((wanted_major, _))) => major == wanted_major,
        _ => false,
    }
}

/// The world's imports, shortly: `wasi:cli/…`, `evalbox:guest/store`, … with their versions.
pub fn summary() -> String {
    let mut packages: Vec<String> = Vec::new();
    for item in IMPORTS {
        let Some((iface, version)) = split(item) else {
            continue;
        };
        let package = iface.split_once('/').map_or(iface, |(p, _)| p);
        let version = version.rsplit_once('.').map_or(version, |(mm, _)| mm);
        let named = format!("{package} {version}");
        if !packages.contains(&named) {
            packages.push(named);
        }
    }
    packages.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_each_package_once() {
        let summary = summary();
        assert_eq!(summary.matches("wasi:cli 0.2").count(), 1, "{summary}");
        assert!(summary.contains("evalbox:guest 0.1"), "{summary}");
    }

    #[test]
    fn the_world_is_read_from_the_wit() {
        assert!(IMPORTS.contains(&"evalbox:guest/store@0.1.0"));
        assert!(
            IMPORTS
                .iter()
                .any(|i| i.starts_with("wasi:filesystem/preopens@0.2."))
        );
        assert!(!IMPORTS.iter().any(|i| i.starts_with("wasi:sockets/")));
        assert_eq!(EXPORTS.len(), 1);
        assert!(EXPORTS[0].starts_with("wasi:cli/run@0.2."));
    }

    #[test]
    fn versions() {
        assert!(compatible("0.2.0", "0.2.12"));
        assert!(compatible("0.2.0-rc-2023-11-10", "0.2.12"));
        assert!(!compatible("0.3.0", "0.2.12"));
        assert!(!compatible("0.2", "0.2.12"));
        assert!(!compatible("0.2.x", "0.2.12"));
        assert!(!compatible("0.2.0.1", "0.2.12"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("2.0.0", "1.0.0"));
    }

    #[test]
    fn imports_by_interface_and_version() {
        assert!(imports("wasi:cli/stdout@0.2.0"));
        assert!(imports("wasi:filesystem/preopens@0.2.9"));
        assert!(imports("evalbox:guest/store@0.1.0"));
        assert!(!imports("wasi:sockets/tcp@0.2.0"));
        assert!(!imports("wasi:http/outgoing-handler@0.2.0"));
        assert!(!imports("wasi:cli/stdout@0.3.0"));
        assert!(!imports("wasi:cli/stdout"));
        assert!(!imports("evalbox:guest/store@1.0.0"));
        assert!(!imports("evalbox:guest/other@0.1.0"));
        assert!(!imports("wasi:clocks/timezone@0.2.0"));
        assert!(!imports("my-func"));
        assert!(exports("wasi:cli/run@0.2.3"));
        assert!(!exports("wasi:cli/run@0.3.0"));
    }
}
