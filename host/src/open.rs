//! Opening the store a `--store URI` names: the embedded store from `evalbox-store`, or a
//! nix-daemon (`daemon`, `unix:///path`, `ssh-ng://host`) through `evalbox-daemon`. The one
//! place that knows every backend, so the CLI and embedders pick backends the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;

use evalbox_store::settings::BuildSettings;
use evalbox_store::{AddSource, BuildResult, BuildTarget, NixStore, PathInfo, StoreUri};
use nix_formats::derivation::Derivation;
use nix_formats::{FileIngestionMethod, HashAlgo, StoreDir, StorePath};

/// Opens the store `uri` names, or the default one when `None` (`$NIX_REMOTE`, else the
/// embedded store at `$EVALBOX_STORE` or under the XDG data directory).
pub async fn open_store(uri: Option<&str>) -> evalbox_store::Result<Arc<dyn NixStore>> {
    open_uri(&parse_uri(uri)?, None).await
}

/// [`open_store`] building with `settings` (the embedded store's builder uses them; a daemon
/// is sent the ones that were given).
pub async fn open_store_with(
    uri: Option<&str>,
    settings: Option<&BuildSettings>,
) -> evalbox_store::Result<Arc<dyn NixStore>> {
    open_uri(&parse_uri(uri)?, settings).await
}

/// The URI `--store` gave, or the default one (`$NIX_REMOTE`, else the embedded store).
fn parse_uri(uri: Option<&str>) -> evalbox_store::Result<StoreUri> {
    match uri {
        Some(u) => StoreUri::parse(u),
        None => StoreUri::from_env(),
    }
}

/// A store that is opened when first used: `evalbox run` hands one to every guest, and a
/// guest that never calls a store operation neither pays for opening the store (the embedded
/// store's SQLite set-up, a daemon handshake) nor creates the embedded store on disk. The URI
/// is parsed up front, so a malformed `--store` still fails before the guest runs; a store
/// that cannot be opened fails the guest's first store call with the reason, and the next
/// call tries again.
#[derive(Debug)]
pub struct LazyStore {
    uri: StoreUri,
    store_dir: StoreDir,
    build_settings: Option<BuildSettings>,
    opened: tokio::sync::OnceCell<Arc<dyn NixStore>>,
}

impl LazyStore {
    /// The store `uri` names, or the default one when `None` (see [`open_store`]).
    pub fn new(uri: Option<&str>) -> evalbox_store::Result<Self> {
        let uri = parse_uri(uri)?;
        let store_dir = store_dir_of(&uri);
        Ok(LazyStore {
            uri,
            store_dir,
            build_settings: None,
            opened: tokio::sync::OnceCell::new(),
        })
    }

    /// How the store builds, once opened (the embedded store's builder; a daemon builds as
    /// it is configured).
    pub fn with_build_settings(mut self, settings: BuildSettings) -> Self {
        self.build_settings = Some(settings);
        self
    }

    /// The URI this store opens.
    pub fn uri(&self) -> &StoreUri {
        &self.uri
    }

    async fn get(&self) -> evalbox_store::Result<&Arc<dyn NixStore>> {
        self.opened
            .get_or_try_init(|| async {
                let store = open_uri(&self.uri, self.build_settings.as_ref()).await?;
                // The store directory was promised before opening; the backend must agree.
                if store.store_dir().as_str() != self.store_dir.as_str() {
                    return Err(evalbox_store::Error::BadInput(format!(
                        "the store {} uses {} instead of {}",
                        self.uri,
                        store.store_dir(),
                        self.store_dir
                    )));
                }
                Ok(store)
            })
            .await
    }
}

async fn open_uri(
    uri: &StoreUri,
    settings: Option<&BuildSettings>,
) -> evalbox_store::Result<Arc<dyn NixStore>> {
    match uri {
        StoreUri::Local { .. } => evalbox_store::open_local_with(uri, settings),
        _ => evalbox_daemon::store::open_with(uri, settings).await,
    }
}

/// The store directory the backend for `uri` uses: the embedded store's configured one; Nix's
/// default for the daemon backends, as `DaemonStore` does.
fn store_dir_of(uri: &StoreUri) -> StoreDir {
    match uri {
        StoreUri::Local { store_dir, .. } => store_dir.clone(),
        _ => StoreDir::default(),
    }
}

#[async_trait::async_trait]
impl NixStore for LazyStore {
    fn store_dir(&self) -> &StoreDir {
        &self.store_dir
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    async fn is_valid_path(&self, path: &StorePath) -> evalbox_store::Result<bool> {
        self.get().await?.is_valid_path(path).await
    }

    async fn query_valid_paths(
        &self,
        paths: &[StorePath],
    ) -> evalbox_store::Result<BTreeSet<StorePath>> {
        self.get().await?.query_valid_paths(paths).await
    }

    async fn query_path_info(&self, path: &StorePath) -> evalbox_store::Result<Option<PathInfo>> {
        self.get().await?.query_path_info(path).await
    }

    async fn add_to_store(
        &self,
        name: &str,
        source: AddSource,
        method: FileIngestionMethod,
        algo: HashAlgo,
        references: &BTreeSet<StorePath>,
    ) -> evalbox_store::Result<PathInfo> {
        self.get()
            .await?
            .add_to_store(name, source, method, algo, references)
            .await
    }

    async fn add_text_to_store(
        &self,
        name: &str,
        text: &[u8],
        references: &BTreeSet<StorePath>,
    ) -> evalbox_store::Result<StorePath> {
        self.get()
            .await?
            .add_text_to_store(name, text, references)
            .await
    }

    async fn add_derivation(
        &self,
        drv: &Derivation,
        name: &str,
    ) -> evalbox_store::Result<StorePath> {
        self.get().await?.add_derivation(drv, name).await
    }

    async fn query_referrers(
        &self,
        path: &StorePath,
    ) -> evalbox_store::Result<BTreeSet<StorePath>> {
        self.get().await?.query_referrers(path).await
    }

    async fn add_to_store_nar(&self, info: &PathInfo, nar: &[u8]) -> evalbox_store::Result<()> {
        self.get().await?.add_to_store_nar(info, nar).await
    }

    async fn add_indirect_root(&self, link: &std::path::Path) -> evalbox_store::Result<()> {
        self.get().await?.add_indirect_root(link).await
    }

    async fn nar_from_path(
        &self,
        path: &StorePath,
        sink: &mut (dyn Write + Send),
    ) -> evalbox_store::Result<()> {
        self.get().await?.nar_from_path(path, sink).await
    }

    async fn read_object(
        &self,
        path: &StorePath,
        rel: &[&[u8]],
    ) -> evalbox_store::Result<Option<evalbox_store::objects::Object>> {
        self.get().await?.read_object(path, rel).await
    }

    async fn query_derivation_output_map(
        &self,
        drv_path: &StorePath,
    ) -> evalbox_store::Result<BTreeMap<String, Option<StorePath>>> {
        self.get()
            .await?
            .query_derivation_output_map(drv_path)
            .await
    }

    async fn build_paths(
        &self,
        targets: &[BuildTarget],
    ) -> evalbox_store::Result<Vec<BuildResult>> {
        self.get().await?.build_paths(targets).await
    }

    async fn add_temp_root(&self, path: &StorePath) -> evalbox_store::Result<()> {
        self.get().await?.add_temp_root(path).await
    }

    async fn read_derivation(&self, drv_path: &StorePath) -> evalbox_store::Result<Derivation> {
        self.get().await?.read_derivation(drv_path).await
    }
}
