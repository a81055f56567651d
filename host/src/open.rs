//! Opening the store a `--store URI` names: the embedded store from `evalbox-store`, or a
//! nix-daemon (`daemon`, `unix:///path`, `ssh-ng://host`) through `evalbox-daemon`. The one
//! place that knows every backend, so the CLI and embedders pick backends the same way.

use std::sync::Arc;

use evalbox_store::{Store, StoreUri};

/// Opens the store `uri` names, or the default one when `None` (`$NIX_REMOTE`, else the
/// embedded store at `$EVALBOX_STORE` or under the XDG data directory).
pub async fn open_store(uri: Option<&str>) -> evalbox_store::Result<Arc<dyn Store>> {
    let uri = match uri {
        Some(u) => StoreUri::parse(u)?,
        None => StoreUri::from_env()?,
    };
    match &uri {
        StoreUri::Local { .. } => evalbox_store::open_local(&uri),
        _ => evalbox_daemon::store::open(&uri).await,
    }
}
