//! [`DaemonStore`]: the `evalbox_store::NixStore` trait served by a real nix-daemon, so a guest
//! sees the same results whether its store is embedded or the user's Nix.
//!
//! Requests go through a small [`Pool`] of connections. Temp roots are different: the daemon
//! keeps a temp root only while the connection that added it is open, so all of them (explicit
//! `add_temp_root` calls, and every path this store adds) are registered on one dedicated
//! connection that lives as long as the store; if it ever breaks, a new one re-registers them.
//! Roots of paths this store adds are pipelined (replies read in batches): the daemon's own
//! temp root on the adding connection covers them until then.
//! Host trees and NAR readers are serialised on a blocking thread and streamed through a bounded
//! channel into the framed upload, so adding a large tree never holds it in memory.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use evalbox_store::derivations::{DrvHashCache, check_output_paths, remember};
use evalbox_store::settings::BuildSettings;
use evalbox_store::{AddSource, BuildResult, BuildTarget, NixStore, PathInfo, StoreUri, TreeRoot};
use nix_formats::derivation::Derivation;
use nix_formats::{FileIngestionMethod, HashAlgo, StoreDir, StorePath};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

use crate::client::{ClientOptions, ClientSettings, DaemonClient};
use crate::error::Error;
use crate::logger::StderrLogger;
use crate::pool::Pool;
use crate::transport::Transport;
use crate::types::{CaMethod, DerivedPath, ValidPathInfo};
use crate::version::ProtocolVersion;

type StoreResult<T> = evalbox_store::Result<T>;

/// Connections a store opens at most at once (besides the temp-root connection).
pub const DEFAULT_POOL_SIZE: usize = 4;

/// Converts a protocol error into the store's error type.
pub fn store_error(e: Error) -> evalbox_store::Error {
    use evalbox_store::Error as S;
    match e {
        Error::Remote { msg, .. } => {
            // Nix's wording for a missing path: "path '/nix/store/…' is not valid".
            if let Some(rest) = msg.strip_prefix("path '")
                && let Some((path, tail)) = rest.split_once('\'')
                && tail.trim() == "is not valid"
            {
                return S::InvalidPath(path.to_string());
            }
            S::Remote(msg)
        }
        Error::Connect { target, source } => S::io(target, source),
        Error::TooOld { .. } => S::Unsupported(e.to_string()),
        Error::BadRequest(m) => S::BadInput(m),
        other => S::Protocol(other.to_string()),
    }
}

#[derive(Debug, Default)]
struct Roots {
    client: Option<DaemonClient>,
    paths: BTreeSet<StorePath>,
}

/// A store served by a nix-daemon.
#[derive(Debug)]
pub struct DaemonStore {
    pool: Pool,
    store_dir: StoreDir,
    version: ProtocolVersion,
    roots: tokio::sync::Mutex<Roots>,
    drv_hashes: DrvHashCache,
}

/// Opens the store a daemon URI names (`daemon`, `unix:///path`, `ssh-ng://host`), logging
/// build output to stderr (with progress bars on a terminal).
pub async fn open(uri: &StoreUri) -> StoreResult<Arc<dyn NixStore>> {
    open_with(uri, None).await
}

/// [`open`], sending each connection the build settings that were given (`--option`), as
/// Nix's client does; with none given the daemon builds as it is configured.
pub async fn open_with(
    uri: &StoreUri,
    settings: Option<&BuildSettings>,
) -> StoreResult<Arc<dyn NixStore>> {
    let (transport, pool_size) = match uri {
        StoreUri::Daemon { socket } => (Transport::Unix(socket.clone()), DEFAULT_POOL_SIZE),
        // Each ssh-ng connection is an ssh process: keep it to one.
        StoreUri::SshNg { host } => (Transport::ssh_ng(host), 1),
        other => {
            return Err(evalbox_store::Error::Unsupported(format!(
                "'{other}' is not a nix-daemon store URI"
            )));
        }
    };
    let opts = ClientOptions {
        logger: Arc::new(StderrLogger::new()),
        settings: settings
            .filter(|s| !s.given.is_empty())
            .map(client_settings),
        ..ClientOptions::default()
    };
    Ok(Arc::new(
        DaemonStore::connect(transport, opts, pool_size).await?,
    ))
}

/// The settings sent to a daemon: the fixed fields, and the others by name.
fn client_settings(s: &BuildSettings) -> ClientSettings {
    const FIXED: [&str; 4] = ["keep-failed", "max-jobs", "max-silent-time", "cores"];
    ClientSettings {
        keep_failed: s.keep_failed,
        max_jobs: s.max_jobs as u64,
        max_silent_time: s.max_silent_time.map_or(0, |d| d.as_secs()),
        cores: s.cores as u64,
        overrides: s
            .given
            .iter()
            .filter(|(name, _)| !FIXED.contains(&name.as_str()))
            .cloned()
            .collect(),
    }
}

impl DaemonStore {
    /// Connects (one handshake, to check the daemon and learn its version) and returns a store
    /// using up to `pool_size` connections.
    pub async fn connect(
        transport: Transport,
        opts: ClientOptions,
        pool_size: usize,
    ) -> StoreResult<Self> {
        let store_dir = opts.store_dir.clone();
        let pool = Pool::new(transport, opts, pool_size);
        let version = pool.get().await.map_err(store_error)?.version();
        Ok(Self {
            pool,
            store_dir,
            version,
            roots: tokio::sync::Mutex::new(Roots::default()),
            drv_hashes: DrvHashCache::new(),
        })
    }

    /// The negotiated protocol version.
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// The connection pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn client(&self) -> StoreResult<crate::pool::PooledClient<'_>> {
        self.pool.get().await.map_err(store_error)
    }

    /// Registers `path` as a temp root on the long-lived roots connection, waiting for the
    /// daemon to confirm it.
    async fn root(&self, path: &StorePath) -> StoreResult<()> {
        self.root_with(path, true).await
    }

    /// Roots a path this store has just added. The daemon already holds a temp root for it on
    /// the connection that added it (kept open while healthy), so the request is pipelined:
    /// sent without waiting, its reply read with later ones, which saves a round trip per add.
    async fn root_added(&self, path: &StorePath) -> StoreResult<()> {
        self.root_with(path, false).await
    }

    async fn root_with(&self, path: &StorePath, wait: bool) -> StoreResult<()> {
        /// Replies left unread at most (they sit in the socket's buffer meanwhile).
        const MAX_UNREAD: usize = 256;
        let mut roots = self.roots.lock().await;
        if roots.paths.contains(path) && roots.client.as_ref().is_some_and(|c| !c.is_broken()) {
            return Ok(());
        }
        if roots.client.as_ref().is_none_or(|c| c.is_broken()) {
            let mut c = self.pool.connect().await.map_err(store_error)?;
            for p in &roots.paths {
                c.send_temp_root(p).await.map_err(store_error)?;
            }
            roots.client = Some(c);
        }
        let Some(c) = roots.client.as_mut() else {
            return Err(evalbox_store::Error::Protocol(
                "no temp-root connection".into(),
            ));
        };
        c.send_temp_root(path).await.map_err(store_error)?;
        if wait || c.unread_temp_roots() >= MAX_UNREAD {
            c.read_temp_root_replies().await.map_err(store_error)?;
        }
        roots.paths.insert(path.clone());
        Ok(())
    }

    fn to_path_info(&self, info: ValidPathInfo) -> PathInfo {
        PathInfo {
            path: info.path,
            deriver: info.deriver,
            nar_hash: info.nar_hash,
            nar_size: info.nar_size,
            references: info.references,
            registration_time: info.registration_time as i64,
            ultimate: info.ultimate,
            signatures: info.signatures.into_iter().collect(),
            ca: info.ca,
        }
    }

    async fn info_of(&self, path: &StorePath) -> StoreResult<PathInfo> {
        self.query_path_info(path)
            .await?
            .ok_or_else(|| evalbox_store::Error::InvalidPath(self.store_dir.display(path)))
    }
}

/// Bytes produced on a blocking thread, read asynchronously.
struct ChannelReader {
    rx: mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl AsyncRead for ChannelReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if self.pos < self.chunk.len() {
                let n = buf.remaining().min(self.chunk.len() - self.pos);
                let start = self.pos;
                buf.put_slice(&self.chunk[start..start + n]);
                self.pos += n;
                return Poll::Ready(Ok(()));
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The writing end of a [`ChannelReader`], used on a blocking thread.
struct ChannelWriter {
    tx: mpsc::Sender<Vec<u8>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 256 * 1024;

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
            self.tx
                .blocking_send(chunk)
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "upload ended"))?;
        }
        Ok(())
    }
}

/// Runs `produce` on a blocking thread, streaming what it writes.
fn produce<F>(produce: F) -> (ChannelReader, tokio::task::JoinHandle<StoreResult<()>>)
where
    F: FnOnce(&mut ChannelWriter) -> StoreResult<()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(4);
    let handle = tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        };
        produce(&mut w)?;
        w.flush()
            .map_err(|e| evalbox_store::Error::Protocol(format!("streaming to nix-daemon: {e}")))
    });
    (
        ChannelReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
        },
        handle,
    )
}

/// The NAR of one regular, non-executable file.
fn file_nar(contents: &[u8]) -> StoreResult<Vec<u8>> {
    let mut nar = Vec::with_capacity(contents.len() + 128);
    nix_formats::nar::writer::open(&mut nar)
        .and_then(|node| node.file(false, contents.len() as u64, &mut &contents[..]))
        .map_err(|e| evalbox_store::Error::BadInput(e.to_string()))?;
    Ok(nar)
}

/// Streams a host tree's NAR.
fn tree_nar(
    root: TreeRoot,
    filter: Option<evalbox_store::PathFilter>,
) -> (ChannelReader, Producer) {
    produce(move |w| {
        evalbox_store::fs::dump_beneath(&root.dir, &root.path, filter.as_ref(), w, None)
    })
}

/// Streams a reader's bytes.
fn reader_stream(mut r: Box<dyn Read + Send>) -> (ChannelReader, Producer) {
    produce(move |w| {
        io::copy(&mut r, w)
            .map(drop)
            .map_err(|e| evalbox_store::Error::BadInput(format!("reading the NAR to add: {e}")))
    })
}

type Producer = tokio::task::JoinHandle<StoreResult<()>>;

/// The flat method adds one regular file (a symlink is not followed).
/// Opens the regular file `root` names (flat ingestion), refusing anything else.
fn open_regular(root: &TreeRoot) -> StoreResult<std::fs::File> {
    let path = &root.path;
    let meta = root
        .dir
        .symlink_metadata(path)
        .map_err(|e| evalbox_store::Error::io(path, e))?;
    if !meta.is_file() {
        return Err(evalbox_store::Error::BadInput(format!(
            "{}: flat hashing needs a regular file",
            path.display()
        )));
    }
    let f = root
        .dir
        .open(path)
        .map_err(|e| evalbox_store::Error::io(path, e))?;
    Ok(f.into_std())
}

/// Streams a host file that the flat method adds.
fn flat_file(root: TreeRoot) -> StoreResult<(ChannelReader, Producer)> {
    let mut f = open_regular(&root)?;
    Ok(produce(move |w| {
        io::copy(&mut f, w)
            .map(drop)
            .map_err(|e| evalbox_store::Error::io(&root.path, e))
    }))
}

/// What to upload for an add: in-memory bytes, or a stream with the thread producing it.
enum Payload {
    Memory(Vec<u8>),
    Stream(ChannelReader, Producer),
}

impl Payload {
    /// The bytes to upload, and the thread producing them (if any).
    fn into_parts(self) -> (Box<dyn AsyncRead + Send + Unpin>, Option<Producer>) {
        match self {
            Payload::Memory(bytes) => (Box::new(io::Cursor::new(bytes)), None),
            Payload::Stream(reader, producer) => (Box::new(reader), Some(producer)),
        }
    }
}

/// Ends an upload: the producer's error (the cause) wins over the daemon's (a consequence).
async fn finish_upload<T>(r: Result<T, Error>, producer: Option<Producer>) -> StoreResult<T> {
    if let Some(producer) = producer {
        match producer.await {
            Ok(Err(e)) => return Err(e),
            Err(join) => {
                return Err(evalbox_store::Error::Protocol(format!(
                    "producing the upload failed: {join}"
                )));
            }
            Ok(Ok(())) => {}
        }
    }
    r.map_err(store_error)
}

#[async_trait]
impl NixStore for DaemonStore {
    fn store_dir(&self) -> &StoreDir {
        &self.store_dir
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    async fn is_valid_path(&self, path: &StorePath) -> StoreResult<bool> {
        let mut c = self.client().await?;
        c.is_valid_path(path).await.map_err(store_error)
    }

    async fn query_valid_paths(&self, paths: &[StorePath]) -> StoreResult<BTreeSet<StorePath>> {
        let set: BTreeSet<StorePath> = paths.iter().cloned().collect();
        let mut c = self.client().await?;
        c.query_valid_paths(&set).await.map_err(store_error)
    }

    async fn query_path_info(&self, path: &StorePath) -> StoreResult<Option<PathInfo>> {
        let mut c = self.client().await?;
        let info = c.query_path_info(path).await.map_err(store_error)?;
        Ok(info.map(|i| self.to_path_info(i)))
    }

    async fn add_to_store(
        &self,
        name: &str,
        source: AddSource,
        method: FileIngestionMethod,
        algo: HashAlgo,
        references: &BTreeSet<StorePath>,
    ) -> StoreResult<PathInfo> {
        nix_formats::store_path::validate_name(name)?;
        let framed = self.version >= ProtocolVersion::new(1, 25);
        use FileIngestionMethod::{Flat, Recursive};
        // ≥ 1.25 wants the file's bytes for the flat method and the NAR for recursive; older
        // daemons always want a NAR.
        let payload = match (source, method) {
            (AddSource::Bytes(b), Flat) if framed => Payload::Memory(b),
            (AddSource::Bytes(b), _) => Payload::Memory(file_nar(&b)?),
            (AddSource::Tree { root, .. }, Flat) if framed => {
                let (r, p) = flat_file(root)?;
                Payload::Stream(r, p)
            }
            (AddSource::Tree { root, filter }, Recursive) => {
                let (r, p) = tree_nar(root, filter);
                Payload::Stream(r, p)
            }
            (AddSource::Tree { root, .. }, Flat) => {
                // Old daemons parse a NAR of the single file.
                let mut bytes = Vec::new();
                io::Read::read_to_end(&mut open_regular(&root)?, &mut bytes)
                    .map_err(|e| evalbox_store::Error::io(&root.path, e))?;
                Payload::Memory(file_nar(&bytes)?)
            }
            (AddSource::Nar(r), Recursive) => {
                let (r, p) = reader_stream(r);
                Payload::Stream(r, p)
            }
            (AddSource::Nar(_), Flat) => {
                return Err(evalbox_store::Error::BadInput(
                    "a NAR can only be added with the recursive method".into(),
                ));
            }
        };
        let mut c = self.client().await?;
        let (mut data, producer) = payload.into_parts();
        let info = if framed {
            let r = c
                .add_to_store(
                    name,
                    CaMethod::Fixed(method, algo),
                    references,
                    false,
                    &mut data,
                )
                .await;
            drop(data);
            self.to_path_info(finish_upload(r, producer).await?)
        } else {
            if !references.is_empty() {
                return Err(evalbox_store::Error::Unsupported(format!(
                    "nix-daemon protocol {} cannot add content with references (needs 1.25)",
                    self.version
                )));
            }
            let r = c.add_to_store_legacy(name, method, algo, &mut data).await;
            drop((data, c));
            let path = finish_upload(r, producer).await?;
            self.info_of(&path).await?
        };
        self.root_added(&info.path).await?;
        Ok(info)
    }

    async fn add_text_to_store(
        &self,
        name: &str,
        text: &[u8],
        references: &BTreeSet<StorePath>,
    ) -> StoreResult<StorePath> {
        nix_formats::store_path::validate_name(name)?;
        let mut c = self.client().await?;
        let path = if self.version >= ProtocolVersion::new(1, 25) {
            c.add_to_store(name, CaMethod::Text, references, false, &mut &text[..])
                .await
                .map_err(store_error)?
                .path
        } else {
            c.add_text_to_store(name, text, references)
                .await
                .map_err(store_error)?
        };
        self.root_added(&path).await?;
        drop(c);
        Ok(path)
    }

    async fn add_derivation(&self, drv: &Derivation, name: &str) -> StoreResult<StorePath> {
        // The daemon stores any text; like the embedded store, refuse wrong output paths.
        check_output_paths(self, drv, name, &self.drv_hashes).await?;
        let aterm = drv.to_aterm_bytes(&self.store_dir);
        let mut refs: BTreeSet<StorePath> = drv.input_sources.clone();
        refs.extend(drv.input_derivations.keys().cloned());
        let drv_name = format!("{name}{}", nix_formats::store_path::DRV_EXTENSION);
        let path = self.add_text_to_store(&drv_name, &aterm, &refs).await?;
        remember(self, &path, drv, &self.drv_hashes)?;
        Ok(path)
    }

    async fn query_referrers(&self, path: &StorePath) -> StoreResult<BTreeSet<StorePath>> {
        let mut c = self.client().await?;
        c.query_referrers(path).await.map_err(store_error)
    }

    async fn nar_from_path(
        &self,
        path: &StorePath,
        sink: &mut (dyn Write + Send),
    ) -> StoreResult<()> {
        let mut c = self.client().await?;
        // Nix 2.8's daemon starts a NAR for an invalid path and then fails mid-stream (the
        // connection is lost): ask first, as Nix's own callers do.
        if !c.is_valid_path(path).await.map_err(store_error)? {
            return Err(evalbox_store::Error::InvalidPath(
                self.store_dir.display(path),
            ));
        }
        c.nar_from_path(path, &mut |b| sink.write_all(b))
            .await
            .map(drop)
            .map_err(store_error)
    }

    async fn query_derivation_output_map(
        &self,
        drv_path: &StorePath,
    ) -> StoreResult<BTreeMap<String, Option<StorePath>>> {
        if self.version >= ProtocolVersion::new(1, 22) {
            let mut c = self.client().await?;
            return c
                .query_derivation_output_map(drv_path)
                .await
                .map_err(store_error);
        }
        // Nix 2.3: read the .drv itself.
        let drv = self.read_derivation(drv_path).await?;
        Ok(drv
            .outputs
            .iter()
            .map(|(name, o)| (name.clone(), o.path().cloned()))
            .collect())
    }

    async fn build_paths(&self, targets: &[BuildTarget]) -> StoreResult<Vec<BuildResult>> {
        let mut out = Vec::new();
        if self.version >= ProtocolVersion::new(1, 34) {
            // One request per derivation (the daemon merges the goals of one derivation
            // anyway, answering once): the union of the outputs wanted, none meaning all.
            let mut merged: BTreeMap<&StorePath, BTreeSet<String>> = BTreeMap::new();
            for t in targets {
                let all = merged.get(&t.drv_path).is_some_and(|o| o.is_empty());
                let entry = merged
                    .entry(&t.drv_path)
                    .or_insert_with(|| t.outputs.clone());
                if all || t.outputs.is_empty() {
                    entry.clear();
                } else {
                    entry.extend(t.outputs.iter().cloned());
                }
            }
            let derived: Vec<DerivedPath> = merged
                .into_iter()
                .map(|(drv, outputs)| DerivedPath::Built {
                    drv: drv.clone(),
                    outputs,
                })
                .collect();
            let mut c = self.client().await?;
            let (results, logs) = c
                .build_paths_with_results(&derived)
                .await
                .map_err(store_error)?;
            drop(c);
            let by_drv: BTreeMap<StorePath, _> = results
                .into_iter()
                .filter_map(|(path, r)| match path {
                    DerivedPath::Built { drv, .. } => Some((drv, r)),
                    DerivedPath::Opaque(_) => None,
                })
                .collect();
            for target in targets {
                let r = by_drv.get(&target.drv_path).ok_or_else(|| {
                    evalbox_store::Error::Protocol(format!(
                        "nix-daemon returned no build result for {}",
                        self.store_dir.display(&target.drv_path)
                    ))
                })?;
                let abs = self.store_dir.display(&target.drv_path);
                out.push(BuildResult {
                    target: target.clone(),
                    success: r.status.is_success(),
                    status: r.status.name().to_string(),
                    error_msg: crate::stderr::strip_ansi(&r.error_msg),
                    outputs: BTreeMap::new(),
                    log: logs.lines.get(&abs).cloned().unwrap_or_default(),
                });
            }
        } else {
            // No per-target results before 1.34: build one target per request.
            for target in targets {
                let d = DerivedPath::Built {
                    drv: target.drv_path.clone(),
                    outputs: target.outputs.clone(),
                };
                let mut c = self.client().await?;
                let res = c.build_paths(std::slice::from_ref(&d)).await;
                drop(c);
                let abs = self.store_dir.display(&target.drv_path);
                let (success, status, error_msg, log) = match res {
                    Ok(mut logs) => (
                        true,
                        "Built",
                        String::new(),
                        logs.lines.remove(&abs).unwrap_or_default(),
                    ),
                    Err(Error::Remote { msg, .. }) => (false, "MiscFailure", msg, Vec::new()),
                    Err(e) => return Err(store_error(e)),
                };
                out.push(BuildResult {
                    target: target.clone(),
                    success,
                    status: status.to_string(),
                    error_msg,
                    outputs: BTreeMap::new(),
                    log,
                });
            }
        }
        for r in &mut out {
            if !r.success {
                continue;
            }
            let map = self.query_derivation_output_map(&r.target.drv_path).await?;
            for (name, path) in map {
                if let Some(path) = path
                    && (r.target.outputs.is_empty() || r.target.outputs.contains(&name))
                {
                    self.root(&path).await?;
                    r.outputs.insert(name, path);
                }
            }
        }
        Ok(out)
    }

    async fn add_temp_root(&self, path: &StorePath) -> StoreResult<()> {
        self.root(path).await
    }

    async fn add_to_store_nar(&self, info: &PathInfo, nar: &[u8]) -> StoreResult<()> {
        let wire = ValidPathInfo {
            path: info.path.clone(),
            deriver: info.deriver.clone(),
            nar_hash: info.nar_hash,
            references: info.references.clone(),
            registration_time: info.registration_time.max(0) as u64,
            nar_size: info.nar_size,
            ultimate: false,
            signatures: info.signatures.iter().cloned().collect(),
            ca: info.ca,
        };
        let mut c = self.client().await?;
        c.add_to_store_nar(&wire, false, true, &mut &nar[..])
            .await
            .map_err(store_error)?;
        drop(c);
        self.root_added(&info.path).await
    }

    async fn add_indirect_root(&self, link: &std::path::Path) -> StoreResult<()> {
        let link = link.to_str().ok_or_else(|| {
            evalbox_store::Error::BadInput(format!("GC root '{}' is not UTF-8", link.display()))
        })?;
        let mut c = self.client().await?;
        c.add_indirect_root(link).await.map_err(store_error)
    }
}
