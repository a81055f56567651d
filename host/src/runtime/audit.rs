//! The capability audit: before a component is instantiated, every import it declares is
//! checked against the evaluator world's imports ([`super::world`], read from the WIT), and
//! its exports must include the world's export, the command entry point. Each import is
//! granted (the evaluator world), denied (the `denied` world, `wasi:sockets`: linked, but
//! every operation fails, so off-the-shelf components run without network; refused too in a
//! strict audit) or refused (anything else: `wasi:http`, an interface nobody has heard of, a
//! bare function), and a refusal names the import. The linker only holds the granted and
//! denied interfaces; the audit makes a refusal explicit and early instead of a link error.

use serde::Serialize;
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use super::world;

/// One import or export of a component, as `inspect` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The full name, e.g. `wasi:cli/stdout@0.2.4`.
    pub name: String,
    /// `instance`, `func`, `module`, `component`, `type`, `resource` or `core-func`.
    pub kind: &'static str,
    /// Whether the sandbox allows it (imports only; exports are always `true`).
    pub allowed: bool,
    /// `granted`, `denied` (present, every operation refused) or `refused` (imports only;
    /// exports are `granted`).
    pub status: Status,
}

/// What the sandbox does with one import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Provided: an interface of the evaluator world.
    Granted,
    /// Provided with every operation denied (the `denied` world).
    Denied,
    /// Not provided: the component is refused.
    Refused,
}

impl Status {
    /// The word `inspect` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Granted => "granted",
            Status::Denied => "denied",
            Status::Refused => "refused",
        }
    }
}

/// Why a component was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// An import outside the evaluator world.
    #[error(
        "the guest imports `{0}`, which the sandbox does not provide (only the evaluator world's interfaces are: {allowed})",
        allowed = world::summary()
    )]
    Import(String),
    /// An import the sandbox would provide denied, in a strict audit.
    #[error(
        "the guest imports `{0}`, which the sandbox provides only with every operation denied; --strict refuses it"
    )]
    Strict(String),
    /// No `wasi:cli/run` export: not a command component.
    #[error(
        "the guest does not export `{}`: it is not a WASI command component",
        world::EXPORTS.join("`, `")
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

/// Audits `component`'s imports and exports; `strict` refuses the denied interfaces too.
pub fn audit(engine: &Engine, component: &Component, strict: bool) -> Report {
    let ty = component.component_type();
    let mut refusals = Vec::new();
    let imports: Vec<Item> = ty
        .imports(engine)
        .map(|(name, item)| {
            let item = item.ty;
            let instance = matches!(item, ComponentItem::ComponentInstance(_));
            let status = if instance && world::imports(name) {
                Status::Granted
            } else if instance && world::denied(name) && !strict {
                Status::Denied
            } else if instance && world::denied(name) {
                refusals.push(Refusal::Strict(name.to_owned()));
                Status::Refused
            } else {
                refusals.push(Refusal::Import(name.to_owned()));
                Status::Refused
            };
            Item {
                name: name.to_owned(),
                kind: kind(&item),
                allowed: status != Status::Refused,
                status,
            }
        })
        .collect();
    let exports: Vec<Item> = ty
        .exports(engine)
        .map(|(name, item)| Item {
            name: name.to_owned(),
            kind: kind(&item.ty),
            allowed: true,
            status: Status::Granted,
        })
        .collect();
    let is_command = exports
        .iter()
        .any(|e| e.kind == "instance" && world::exports(&e.name));
    if !is_command {
        refusals.push(Refusal::NotACommand);
    }
    Report {
        imports,
        exports,
        refusals,
    }
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
