//! The capability audit: before a component is instantiated, every import it declares is
//! checked against the evaluator world's allowlist, and its exports must include the command
//! entry point. A component that imports anything else (`wasi:sockets`, `wasi:http`, an
//! interface nobody has heard of, a bare function) is refused, and the refusal names the
//! import. The linker only holds the allowed interfaces too; the audit makes the refusal
//! explicit and early instead of a link error.

use serde::Serialize;
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

/// WASI 0.2 interfaces a guest may import: the ones a Rust `wasm32-wasip2` command needs to
/// read its sources, print, exit, and use (virtual) clocks and (seeded) randomness.
pub const ALLOWED_WASI: &[(&str, &str)] = &[
    ("cli", "environment"),
    ("cli", "exit"),
    ("cli", "stdin"),
    ("cli", "stdout"),
    ("cli", "stderr"),
    ("cli", "terminal-input"),
    ("cli", "terminal-output"),
    ("cli", "terminal-stdin"),
    ("cli", "terminal-stdout"),
    ("cli", "terminal-stderr"),
    ("io", "error"),
    ("io", "poll"),
    ("io", "streams"),
    ("clocks", "wall-clock"),
    ("clocks", "monotonic-clock"),
    ("filesystem", "types"),
    ("filesystem", "preopens"),
    ("random", "random"),
    ("random", "insecure"),
    ("random", "insecure-seed"),
];

/// The export every guest must have.
pub const REQUIRED_EXPORT: &str = "wasi:cli/run";

/// One import or export of a component, as `inspect` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The full name, e.g. `wasi:cli/stdout@0.2.4`.
    pub name: String,
    /// `instance`, `func`, `module`, `component`, `type`, `resource` or `core-func`.
    pub kind: &'static str,
    /// Whether the sandbox allows it (imports only; exports are always `true`).
    pub allowed: bool,
}

/// Why a component was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// An import outside the allowlist.
    #[error(
        "the guest imports `{0}`, which the sandbox does not provide (only WASI cli/io/clocks/filesystem/random 0.2 and evalbox:guest/store 0.1 are allowed)"
    )]
    Import(String),
    /// No `wasi:cli/run` export: not a command component.
    #[error(
        "the guest does not export `{REQUIRED_EXPORT}` (0.2.x): it is not a WASI command component"
    )]
    NotACommand,
}

/// The audit of one component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// All imports, in the component's order.
    pub imports: Vec<Item>,
    /// All exports, in the component's order.
    pub exports: Vec<Item>,
    /// Every reason to refuse the component; empty means allowed.
    #[serde(serialize_with = "serialize_refusals")]
    pub refusals: Vec<Refusal>,
}

fn serialize_refusals<S: serde::Serializer>(
    refusals: &[Refusal],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(refusals.iter().map(ToString::to_string))
}

impl Report {
    /// Whether the sandbox may run the component.
    pub fn allowed(&self) -> bool {
        self.refusals.is_empty()
    }

    /// The first reason to refuse, if any.
    pub fn verdict(&self) -> Result<(), Refusal> {
        match self.refusals.first() {
            Some(refusal) => Err(refusal.clone()),
            None => Ok(()),
        }
    }
}

/// Audits `component`'s imports and exports.
pub fn audit(engine: &Engine, component: &Component) -> Report {
    let ty = component.component_type();
    let mut refusals = Vec::new();
    let imports: Vec<Item> = ty
        .imports(engine)
        .map(|(name, item)| {
            let item = item.ty;
            let allowed =
                matches!(item, ComponentItem::ComponentInstance(_)) && import_allowed(name);
            if !allowed {
                refusals.push(Refusal::Import(name.to_owned()));
            }
            Item {
                name: name.to_owned(),
                kind: kind(&item),
                allowed,
            }
        })
        .collect();
    let exports: Vec<Item> = ty
        .exports(engine)
        .map(|(name, item)| Item {
            name: name.to_owned(),
            kind: kind(&item.ty),
            allowed: true,
        })
        .collect();
    let is_command = exports.iter().any(|e| {
        e.kind == "instance"
            && split_version(&e.name).is_some_and(|(iface, version)| {
                iface == REQUIRED_EXPORT && version_is(version, 0, 2)
            })
    });
    if !is_command {
        refusals.push(Refusal::NotACommand);
    }
    Report {
        imports,
        exports,
        refusals,
    }
}

/// Whether an instance import named `name` is on the allowlist.
pub fn import_allowed(name: &str) -> bool {
    let Some((iface, version)) = split_version(name) else {
        return false;
    };
    if iface == "evalbox:guest/store" {
        return version_is(version, 0, 1);
    }
    let Some(rest) = iface.strip_prefix("wasi:") else {
        return false;
    };
    let Some((package, interface)) = rest.split_once('/') else {
        return false;
    };
    version_is(version, 0, 2) && ALLOWED_WASI.contains(&(package, interface))
}

/// Splits `ns:pkg/iface@1.2.3` into the interface and the version.
fn split_version(name: &str) -> Option<(&str, &str)> {
    name.split_once('@')
}

/// Whether `version` (semver) is `major.minor.*`.
fn version_is(version: &str, major: u64, minor: u64) -> bool {
    let mut parts = version.split('.');
    let (Some(ma), Some(mi), Some(patch)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let patch = patch.split(['-', '+']).next().unwrap_or_default();
    ma.parse() == Ok(major)
        && mi.parse() == Ok(minor)
        && patch.parse::<u64>().is_ok()
        && parts.next().is_none()
}

fn kind(item: &ComponentItem) -> &'static str {
    match item {
        ComponentItem::ComponentFunc(_) => "func",
        ComponentItem::CoreFunc(_) => "core-func",
        ComponentItem::Module(_) => "module",
        ComponentItem::Component(_) => "component",
        ComponentItem::ComponentInstance(_) => "instance",
        ComponentItem::Type(_) => "type",
        ComponentItem::Resource(_) => "resource",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist() {
        assert!(import_allowed("wasi:cli/stdout@0.2.0"));
        assert!(import_allowed("wasi:filesystem/preopens@0.2.9"));
        assert!(import_allowed("evalbox:guest/store@0.1.0"));
        assert!(!import_allowed("wasi:sockets/tcp@0.2.0"));
        assert!(!import_allowed("wasi:http/outgoing-handler@0.2.0"));
        assert!(!import_allowed("wasi:cli/stdout@0.3.0"));
        assert!(!import_allowed("wasi:cli/stdout"));
        assert!(!import_allowed("evalbox:guest/store@1.0.0"));
        assert!(!import_allowed("evalbox:guest/other@0.1.0"));
        assert!(!import_allowed("wasi:clocks/timezone@0.2.0"));
        assert!(!import_allowed("my-func"));
    }

    #[test]
    fn versions() {
        assert!(version_is("0.2.0", 0, 2));
        assert!(version_is("0.2.0-rc-2023-11-10", 0, 2));
        assert!(!version_is("0.2", 0, 2));
        assert!(!version_is("0.2.x", 0, 2));
        assert!(!version_is("0.2.0.1", 0, 2));
    }
}
