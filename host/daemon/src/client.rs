//! One connection to a nix-daemon: the handshake, the stderr loop, and every operation evalbox
//! uses, each encoded for the negotiated protocol version.
//!
//! A [`DaemonClient`] owns a byte stream in each direction (a Unix socket's halves, or a child
//! process's stdout/stdin for `nix-daemon --stdio` and `ssh-ng://`). Requests are written in one
//! piece; the stderr loop runs until LAST or ERROR; then the reply is decoded with the bounds in
//! [`Limits`]. Uploads in the framed format run concurrently with the stderr loop, so a daemon
//! that fails half-way is heard instead of deadlocking. Any error other than a daemon-reported
//! failure of a complete request marks the client [`broken`](DaemonClient::is_broken): its
//! stream position is unknown, so it must not be reused.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::sync::Arc;

use nix_formats::{FileIngestionMethod, HashAlgo, StoreDir, StorePath};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};

use crate::error::{Error, Result};
use crate::logger::{Logger, NullLogger};
use crate::nar::copy_nar;
use crate::stderr::{self, ACT_BUILD, Message, RES_BUILD_LOG_LINE};
use crate::types::{BuildResult, CaMethod, DerivedPath, ValidPathInfo};
use crate::version::ProtocolVersion;
use crate::wire::{self, Limits, Request};

/// First word a client sends.
pub const WORKER_MAGIC_1: u64 = 0x6e69_7863;
/// First word a daemon answers.
pub const WORKER_MAGIC_2: u64 = 0x6478_696f;

/// Optional protocol features (≥ 1.38) this client implements: none yet. Without
/// `realisation-with-path-not-hash`, a 1.38 daemon sends build outputs in the 1.28 form.
pub const FEATURES: &[&str] = &[];

/// Operation codes of the worker protocol (the ones this client sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Op {
    /// Is a path valid? (all versions)
    IsValidPath = 1,
    /// Referrers of a path.
    QueryReferrers = 6,
    /// Add content (framed form since 1.25).
    AddToStore = 7,
    /// Add a text file (replaced by `AddToStore` in 1.25, still served by Nix 2.8).
    AddTextToStore = 8,
    /// Build derived paths.
    BuildPaths = 9,
    /// The client's settings for the builds of this connection.
    SetOptions = 19,
    /// Make a path valid, substituting it if needed.
    EnsurePath = 10,
    /// Protect a path from GC for the connection's lifetime.
    AddTempRoot = 11,
    /// Register a symlink outside the store as a GC root.
    AddIndirectRoot = 12,
    /// Metadata of a path (keyed reply since 1.17).
    QueryPathInfo = 26,
    /// Which of these paths are valid?
    QueryValidPaths = 31,
    /// Stream a path's NAR (bare, unframed).
    NarFromPath = 38,
    /// Import a NAR with its metadata.
    AddToStoreNar = 39,
    /// Output name → path of a derivation (1.22).
    QueryDerivationOutputMap = 41,
    /// Import many NARs (1.32).
    AddMultipleToStore = 44,
    /// Build and report per-path results (1.34; Nix 2.8 is the first with it).
    BuildPathsWithResults = 46,
}

/// What the handshake learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeInfo {
    /// The negotiated version: the lower of the daemon's and [`ProtocolVersion::MAX`].
    pub version: ProtocolVersion,
    /// The version the daemon announced.
    pub daemon_protocol: ProtocolVersion,
    /// The daemon's Nix version string (≥ 1.33).
    pub daemon_nix_version: Option<String>,
    /// Whether the daemon trusts this client (≥ 1.35; `None` when unknown).
    pub trusted: Option<bool>,
    /// Features both sides support (≥ 1.38).
    pub features: Vec<String>,
}

/// Build log lines gathered by the stderr loop, keyed by the `.drv` path of the build activity.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BuildLogs {
    activities: HashMap<u64, String>,
    /// `.drv` path (absolute) → lines.
    pub lines: BTreeMap<String, Vec<String>>,
}

impl BuildLogs {
    fn on_message(&mut self, msg: &Message) {
        match msg {
            Message::StartActivity(a) if a.kind == ACT_BUILD => {
                if let Some(drv) = a.fields.first().and_then(stderr::Field::as_str) {
                    self.activities.insert(a.id, drv.to_string());
                }
            }
            Message::Result { id, kind, fields } if *kind == RES_BUILD_LOG_LINE => {
                if let (Some(drv), Some(line)) = (
                    self.activities.get(id),
                    fields.first().and_then(stderr::Field::as_str),
                ) {
                    self.lines
                        .entry(drv.clone())
                        .or_default()
                        .push(line.to_string());
                }
            }
            _ => {}
        }
    }
}

type BoxRead = Box<dyn AsyncRead + Send + Unpin>;
type BoxWrite = Box<dyn AsyncWrite + Send + Unpin>;
/// A stream of data to upload.
pub type Source<'a> = Box<dyn AsyncRead + Send + Unpin + 'a>;

/// Where READ requests are served from and WRITE data goes during one stderr loop.
#[derive(Default)]
struct Io<'a> {
    source: Option<&'a mut (dyn AsyncRead + Send + Unpin)>,
    sink: Option<&'a mut Vec<u8>>,
    logs: Option<&'a mut BuildLogs>,
}

/// A connection to a nix-daemon.
pub struct DaemonClient {
    reader: BufReader<BoxRead>,
    writer: BufWriter<BoxWrite>,
    info: HandshakeInfo,
    store_dir: StoreDir,
    limits: Limits,
    nar_limits: nix_formats::nar::Limits,
    logger: Arc<dyn Logger>,
    broken: bool,
    /// Replies to pipelined `AddTempRoot` requests not read yet.
    unread_roots: usize,
    /// Keeps a `--stdio` child alive (and kills it on drop).
    _child: Option<tokio::process::Child>,
}

impl std::fmt::Debug for DaemonClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonClient")
            .field("info", &self.info)
            .field("store_dir", &self.store_dir)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// Options for [`DaemonClient::handshake`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The daemon's store directory.
    pub store_dir: StoreDir,
    /// Bounds on replies.
    pub limits: Limits,
    /// Bounds on NARs received.
    pub nar_limits: nix_formats::nar::Limits,
    /// Where log output goes.
    pub logger: Arc<dyn Logger>,
    /// The version announced to the daemon (at most [`ProtocolVersion::MAX`]); lower it to
    /// speak an older protocol to a newer daemon, as an older Nix client would.
    pub max_version: ProtocolVersion,
    /// Settings sent once per connection, after the handshake (`SetOptions`); `None` sends
    /// nothing, leaving the daemon's own configuration.
    pub settings: Option<ClientSettings>,
}

/// The settings a Nix client sends a daemon (`SetOptions`): a few fixed fields, and any other
/// setting by name. A daemon applies the named ones only for a trusted user (or the few it
/// allows anyone), warning about the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// `keep-failed`.
    pub keep_failed: bool,
    /// `max-jobs`.
    pub max_jobs: u64,
    /// `max-silent-time`, in seconds (0: none).
    pub max_silent_time: u64,
    /// `cores`.
    pub cores: u64,
    /// Other settings, as `--option NAME VALUE` names them.
    pub overrides: Vec<(String, String)>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            store_dir: StoreDir::default(),
            limits: Limits::default(),
            nar_limits: nix_formats::nar::Limits::default(),
            logger: Arc::new(NullLogger),
            max_version: ProtocolVersion::MAX,
            settings: None,
        }
    }
}

async fn process_stderr(
    reader: &mut BufReader<BoxRead>,
    writer: &mut BufWriter<BoxWrite>,
    version: ProtocolVersion,
    limits: &Limits,
    logger: &dyn Logger,
    mut io: Io<'_>,
) -> Result<()> {
    writer.flush().await?;
    loop {
        let msg = stderr::read_message(reader, version, limits).await?;
        if let Some(logs) = io.logs.as_deref_mut() {
            logs.on_message(&msg);
        }
        match msg {
            Message::Last => return Ok(()),
            Message::Error(e) => return Err(e.into()),
            Message::Next(line) => logger.log(&line),
            Message::StartActivity(a) => logger.start_activity(&a),
            Message::StopActivity(id) => logger.stop_activity(id),
            Message::Result { id, kind, fields } => logger.result(id, kind, &fields),
            Message::Write(data) => match io.sink.as_deref_mut() {
                Some(sink) => sink.extend_from_slice(&data),
                None => return Err(Error::UnexpectedMessage("WRITE")),
            },
            Message::Read(len) => {
                let Some(source) = io.source.as_deref_mut() else {
                    return Err(Error::UnexpectedMessage("READ"));
                };
                let want = len.min(64 * 1024) as usize;
                let mut buf = vec![0u8; want];
                let n = source.read(&mut buf).await?;
                let mut req = Request::new();
                req.bytes(&buf[..n]);
                writer.write_all(req.as_bytes()).await?;
                writer.flush().await?;
            }
        }
    }
}

/// The contents of a framed upload: a prefix, then for each part a header and a stream.
#[derive(Default)]
struct Upload<'a> {
    prefix: Vec<u8>,
    parts: Vec<(Vec<u8>, Source<'a>)>,
}

impl<'a> Upload<'a> {
    fn one(source: &'a mut (dyn AsyncRead + Send + Unpin)) -> Self {
        Self {
            prefix: Vec::new(),
            parts: vec![(Vec::new(), Box::new(source))],
        }
    }
}

/// Sends an upload as a framed stream while running the stderr loop, so daemon errors during the
/// upload end it.
async fn upload_framed(
    reader: &mut BufReader<BoxRead>,
    writer: &mut BufWriter<BoxWrite>,
    version: ProtocolVersion,
    limits: &Limits,
    logger: &dyn Logger,
    upload: Upload<'_>,
    uploaded: &mut bool,
) -> Result<()> {
    // The request itself goes out with the first frames (one write for a small upload).
    let upload = async {
        let mut buf = vec![0u8; 64 * 1024];
        wire::write_frame(writer, &upload.prefix).await?;
        for (head, mut source) in upload.parts {
            wire::write_frame(writer, &head).await?;
            loop {
                let n = source.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                wire::write_frame(writer, &buf[..n]).await?;
            }
        }
        wire::finish_frames(writer).await?;
        writer.flush().await?;
        Ok::<_, Error>(())
    };
    let replies = async {
        // The daemon reads the frames itself: READ/WRITE make no sense here.
        loop {
            match stderr::read_message(reader, version, limits).await? {
                Message::Last => return Ok(()),
                Message::Error(e) => return Err(Error::from(e)),
                Message::Next(line) => logger.log(&line),
                Message::StartActivity(a) => logger.start_activity(&a),
                Message::StopActivity(id) => logger.stop_activity(id),
                Message::Result { id, kind, fields } => logger.result(id, kind, &fields),
                Message::Read(_) => return Err(Error::UnexpectedMessage("READ")),
                Message::Write(_) => return Err(Error::UnexpectedMessage("WRITE")),
            }
        }
    };
    tokio::pin!(upload, replies);
    *uploaded = false;
    loop {
        tokio::select! {
            biased;
            r = &mut upload, if !*uploaded => match r {
                Ok(()) => *uploaded = true,
                // The daemon stopped reading: its error message (or EOF) explains why.
                Err(e) => return Err(match replies.await {
                    Err(remote @ Error::Remote { .. }) => remote,
                    _ => e,
                }),
            },
            r = &mut replies => {
                r?;
                if !*uploaded {
                    return Err(Error::UnexpectedMessage("LAST before the upload ended"));
                }
                return Ok(());
            }
        }
    }
}

impl DaemonClient {
    /// Performs the handshake over a pair of streams.
    pub async fn handshake<R, W>(reader: R, writer: W, opts: ClientOptions) -> Result<Self>
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let mut reader = BufReader::with_capacity(64 * 1024, Box::new(reader) as BoxRead);
        let mut writer = BufWriter::with_capacity(64 * 1024, Box::new(writer) as BoxWrite);
        let ours = opts.max_version.min(ProtocolVersion::MAX);
        if !ours.is_supported() {
            return Err(Error::BadRequest(format!(
                "cannot speak worker protocol {ours}: the minimum is {}",
                ProtocolVersion::MIN
            )));
        }
        let mut req = Request::new();
        req.u64(WORKER_MAGIC_1).u64(ours.to_wire());
        writer.write_all(req.as_bytes()).await?;
        writer.flush().await?;
        let magic = wire::read_u64(&mut reader, "the handshake magic").await?;
        if magic != WORKER_MAGIC_2 {
            return Err(Error::BadMagic(magic));
        }
        let raw = wire::read_u64(&mut reader, "the protocol version").await?;
        let daemon_protocol = ProtocolVersion::from_wire(raw).ok_or(Error::BadValue {
            what: "protocol version",
            value: format!("{raw:#x}"),
        })?;
        if !daemon_protocol.is_supported() {
            return Err(Error::UnsupportedVersion(daemon_protocol));
        }
        let version = daemon_protocol.min(ours);
        let mut features = Vec::new();
        if version >= ProtocolVersion::new(1, 38) {
            let mut req = Request::new();
            req.strings(FEATURES);
            writer.write_all(req.as_bytes()).await?;
            writer.flush().await?;
            let theirs = wire::read_strings(&mut reader, &opts.limits, "daemon features").await?;
            features = theirs
                .into_iter()
                .filter(|f| FEATURES.contains(&f.as_str()))
                .collect();
        }
        let mut req = Request::new();
        if version >= ProtocolVersion::new(1, 14) {
            req.u64(0); // obsolete CPU affinity: none
        }
        if version >= ProtocolVersion::new(1, 11) {
            req.bool(false); // obsolete reserveSpace
        }
        writer.write_all(req.as_bytes()).await?;
        writer.flush().await?;
        let mut daemon_nix_version = None;
        if version >= ProtocolVersion::new(1, 33) {
            daemon_nix_version =
                Some(wire::read_string(&mut reader, 1024, "the daemon version").await?);
        }
        let mut trusted = None;
        if version >= ProtocolVersion::new(1, 35) {
            trusted = match wire::read_u64(&mut reader, "the trust flag").await? {
                0 => None,
                1 => Some(true),
                2 => Some(false),
                n => {
                    return Err(Error::BadValue {
                        what: "trust flag",
                        value: n.to_string(),
                    });
                }
            };
        }
        let mut client = Self {
            reader,
            writer,
            info: HandshakeInfo {
                version,
                daemon_protocol,
                daemon_nix_version,
                trusted,
                features,
            },
            store_dir: opts.store_dir,
            limits: opts.limits,
            nar_limits: opts.nar_limits,
            logger: opts.logger,
            broken: true,
            unread_roots: 0,
            _child: None,
        };
        client.stderr(Io::default()).await?;
        client.broken = false;
        if let Some(settings) = &opts.settings {
            client.set_options(settings).await?;
        }
        Ok(client)
    }

    /// Keeps `child` (the process at the other end of the streams) alive with this client.
    pub fn with_child(mut self, child: tokio::process::Child) -> Self {
        self._child = Some(child);
        self
    }

    /// What the handshake learned.
    pub fn info(&self) -> &HandshakeInfo {
        &self.info
    }

    /// The negotiated protocol version.
    pub fn version(&self) -> ProtocolVersion {
        self.info.version
    }

    /// The store directory paths are printed in.
    pub fn store_dir(&self) -> &StoreDir {
        &self.store_dir
    }

    /// Whether the connection is in an unknown state and must be dropped.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Replaces the logger.
    pub fn set_logger(&mut self, logger: Arc<dyn Logger>) {
        self.logger = logger;
    }

    async fn stderr(&mut self, io: Io<'_>) -> Result<()> {
        process_stderr(
            &mut self.reader,
            &mut self.writer,
            self.info.version,
            &self.limits,
            &*self.logger,
            io,
        )
        .await
    }

    fn begin(&mut self) -> Result<()> {
        if self.broken {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::NotConnected,
                "the connection broke during an earlier request",
            )));
        }
        if self.unread_roots > 0 {
            return Err(Error::Io(io::Error::other(
                "replies to pipelined temp roots are still unread",
            )));
        }
        self.broken = true;
        Ok(())
    }

    /// Ends a request: the connection stays usable after success, and after a daemon-reported
    /// failure of a request the daemon had read completely.
    fn end<T>(&mut self, r: Result<T>, request_complete: bool) -> Result<T> {
        self.broken = match &r {
            Ok(_) => false,
            Err(e) => !(request_complete && e.connection_reusable()),
        };
        r
    }

    fn need(&self, op: &'static str, minor: u8) -> Result<()> {
        let needed = ProtocolVersion::new(1, minor);
        if self.info.version < needed {
            return Err(Error::TooOld {
                op,
                needed,
                have: self.info.version,
            });
        }
        Ok(())
    }

    async fn send(&mut self, req: &Request) -> Result<()> {
        self.writer.write_all(req.as_bytes()).await?;
        Ok(())
    }

    async fn simple<T, F>(&mut self, req: Request, read: F) -> Result<T>
    where
        F: for<'a> FnOnce(
            &'a mut BufReader<BoxRead>,
            &'a StoreDir,
            ProtocolVersion,
            &'a Limits,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T>> + Send + 'a>,
        >,
    {
        self.begin()?;
        let r = async {
            self.send(&req).await?;
            self.stderr(Io::default()).await?;
            read(
                &mut self.reader,
                &self.store_dir,
                self.info.version,
                &self.limits,
            )
            .await
        }
        .await;
        self.end(r, true)
    }

    /// `SetOptions`: the settings for this connection's builds.
    pub async fn set_options(&mut self, s: &ClientSettings) -> Result<()> {
        let mut req = Request::new();
        req.u64(Op::SetOptions as u64)
            .bool(s.keep_failed)
            .bool(false) // keep-going
            .bool(false) // fallback
            .u64(0) // verbosity: errors
            .u64(s.max_jobs)
            .u64(s.max_silent_time)
            .bool(true) // obsolete: use the build hook
            .u64(0) // build verbosity: errors, so build logs are sent
            .u64(0) // obsolete log type
            .u64(0) // obsolete print-build-trace
            .u64(s.cores)
            .bool(true); // substitute
        if self.info.version >= ProtocolVersion::new(1, 12) {
            req.u64(s.overrides.len() as u64);
            for (name, value) in &s.overrides {
                req.bytes(name).bytes(value);
            }
        }
        self.simple(req, |_, _, _, _| Box::pin(async { Ok(()) }))
            .await
    }

    /// `IsValidPath`.
    pub async fn is_valid_path(&mut self, path: &StorePath) -> Result<bool> {
        let mut req = Request::new();
        req.u64(Op::IsValidPath as u64).path(&self.store_dir, path);
        self.simple(req, |r, _, _, _| {
            Box::pin(wire::read_bool(r, "the validity flag"))
        })
        .await
    }

    /// `QueryValidPaths` (without substitution).
    pub async fn query_valid_paths(
        &mut self,
        paths: &BTreeSet<StorePath>,
    ) -> Result<BTreeSet<StorePath>> {
        let mut req = Request::new();
        req.u64(Op::QueryValidPaths as u64)
            .paths(&self.store_dir, paths);
        if self.version() >= ProtocolVersion::new(1, 27) {
            req.bool(false);
        }
        self.simple(req, |r, dir, _, limits| {
            Box::pin(wire::read_store_paths(r, dir, limits, "valid paths"))
        })
        .await
    }

    /// `QueryPathInfo`: `None` when the path is not valid.
    pub async fn query_path_info(&mut self, path: &StorePath) -> Result<Option<ValidPathInfo>> {
        let mut req = Request::new();
        req.u64(Op::QueryPathInfo as u64)
            .path(&self.store_dir, path);
        let path = path.clone();
        self.simple(req, move |r, dir, v, limits| {
            Box::pin(async move {
                if !wire::read_bool(r, "the validity flag").await? {
                    return Ok(None);
                }
                ValidPathInfo::read_unkeyed(r, path, dir, v, limits)
                    .await
                    .map(Some)
            })
        })
        .await
    }

    /// `QueryReferrers`.
    pub async fn query_referrers(&mut self, path: &StorePath) -> Result<BTreeSet<StorePath>> {
        let mut req = Request::new();
        req.u64(Op::QueryReferrers as u64)
            .path(&self.store_dir, path);
        self.simple(req, |r, dir, _, limits| {
            Box::pin(wire::read_store_paths(r, dir, limits, "referrers"))
        })
        .await
    }

    /// `EnsurePath`.
    pub async fn ensure_path(&mut self, path: &StorePath) -> Result<()> {
        let mut req = Request::new();
        req.u64(Op::EnsurePath as u64).path(&self.store_dir, path);
        self.simple(req, |r, _, _, _| {
            Box::pin(async move { wire::read_u64(r, "a result").await.map(drop) })
        })
        .await
    }

    /// `AddTempRoot`: protects `path` from GC while this connection lives.
    pub async fn add_temp_root(&mut self, path: &StorePath) -> Result<()> {
        let mut req = Request::new();
        req.u64(Op::AddTempRoot as u64).path(&self.store_dir, path);
        self.simple(req, |r, _, _, _| {
            Box::pin(async move { wire::read_u64(r, "a result").await.map(drop) })
        })
        .await
    }

    /// `AddIndirectRoot`: make `link` (an absolute path to a symlink into the store) a GC root.
    pub async fn add_indirect_root(&mut self, link: &str) -> Result<()> {
        let mut req = Request::new();
        req.u64(Op::AddIndirectRoot as u64).bytes(link);
        self.simple(req, |r, _, _, _| {
            Box::pin(async move { wire::read_u64(r, "a result").await.map(drop) })
        })
        .await
    }

    /// `AddTempRoot` without waiting for the reply, so that a run of roots costs no round
    /// trips. [`DaemonClient::read_temp_root_replies`] reads the replies, and must run before
    /// any other request on this connection.
    pub async fn send_temp_root(&mut self, path: &StorePath) -> Result<()> {
        if self.broken {
            return self.begin();
        }
        let mut req = Request::new();
        req.u64(Op::AddTempRoot as u64).path(&self.store_dir, path);
        self.broken = true;
        self.send(&req).await?;
        self.writer.flush().await?;
        self.broken = false;
        self.unread_roots += 1;
        Ok(())
    }

    /// How many replies to [`DaemonClient::send_temp_root`] are unread.
    pub fn unread_temp_roots(&self) -> usize {
        self.unread_roots
    }

    /// Reads the replies to every [`DaemonClient::send_temp_root`] so far; the first failure
    /// is returned (and the connection is then dropped by its owner).
    pub async fn read_temp_root_replies(&mut self) -> Result<()> {
        while self.unread_roots > 0 {
            self.broken = true;
            self.stderr(Io::default()).await?;
            wire::read_u64(&mut self.reader, "a result").await?;
            self.unread_roots -= 1;
            self.broken = false;
        }
        Ok(())
    }

    /// `QueryDerivationOutputMap` (≥ 1.22).
    pub async fn query_derivation_output_map(
        &mut self,
        drv: &StorePath,
    ) -> Result<BTreeMap<String, Option<StorePath>>> {
        self.need("QueryDerivationOutputMap", 22)?;
        let mut req = Request::new();
        req.u64(Op::QueryDerivationOutputMap as u64)
            .path(&self.store_dir, drv);
        self.simple(req, |r, dir, _, limits| {
            Box::pin(async move {
                let n = wire::read_count(r, limits, "derivation outputs").await?;
                let mut map = BTreeMap::new();
                for _ in 0..n {
                    let name = wire::read_string(r, limits.max_path, "an output name").await?;
                    let path = wire::read_opt_store_path(r, dir, limits, "an output path").await?;
                    map.insert(name, path);
                }
                Ok(map)
            })
        })
        .await
    }

    /// `AddTextToStore` (the pre-1.25 way to add text; Nix 2.8 still serves it).
    pub async fn add_text_to_store(
        &mut self,
        name: &str,
        text: &[u8],
        references: &BTreeSet<StorePath>,
    ) -> Result<StorePath> {
        let mut req = Request::new();
        req.u64(Op::AddTextToStore as u64)
            .bytes(name)
            .bytes(text)
            .paths(&self.store_dir, references);
        self.simple(req, |r, dir, _, limits| {
            Box::pin(wire::read_store_path(r, dir, limits, "the added path"))
        })
        .await
    }

    /// `AddToStore`, framed form (≥ 1.25): `data` is the file's bytes for text and flat
    /// methods, the NAR for recursive ones.
    pub async fn add_to_store(
        &mut self,
        name: &str,
        method: CaMethod,
        references: &BTreeSet<StorePath>,
        repair: bool,
        data: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<ValidPathInfo> {
        self.need("AddToStore (framed)", 25)?;
        self.begin()?;
        let mut req = Request::new();
        req.u64(Op::AddToStore as u64)
            .bytes(name)
            .bytes(method.to_string())
            .paths(&self.store_dir, references)
            .bool(repair);
        let mut uploaded = false;
        let r = async {
            self.send(&req).await?;
            upload_framed(
                &mut self.reader,
                &mut self.writer,
                self.info.version,
                &self.limits,
                &*self.logger,
                Upload::one(data),
                &mut uploaded,
            )
            .await?;
            ValidPathInfo::read(
                &mut self.reader,
                &self.store_dir,
                self.info.version,
                &self.limits,
            )
            .await
        }
        .await;
        self.end(r, uploaded)
    }

    /// `AddToStore`, the form before 1.25: `nar` is a NAR (of a single regular file for the
    /// flat method) that the daemon parses to find its end. No references are possible.
    pub async fn add_to_store_legacy(
        &mut self,
        name: &str,
        method: FileIngestionMethod,
        algo: HashAlgo,
        nar: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<StorePath> {
        self.begin()?;
        let recursive = method == FileIngestionMethod::Recursive;
        let mut req = Request::new();
        req.u64(Op::AddToStore as u64)
            .bytes(name)
            // "fixed" is false only for recursive SHA-256 (a backwards-compatibility quirk).
            .bool(!(recursive && algo == HashAlgo::Sha256))
            .bool(recursive)
            .bytes(algo.as_str());
        let r = async {
            self.send(&req).await?;
            tokio::io::copy(nar, &mut self.writer).await?;
            self.stderr(Io::default()).await?;
            wire::read_store_path(
                &mut self.reader,
                &self.store_dir,
                &self.limits,
                "the added path",
            )
            .await
        }
        .await;
        // The daemon parses the NAR before replying, so an error leaves the stream unknown.
        self.end(r, false)
    }

    /// `AddToStoreNar`: imports a NAR with its metadata (framed ≥ 1.23, through READ requests
    /// before).
    pub async fn add_to_store_nar(
        &mut self,
        info: &ValidPathInfo,
        repair: bool,
        dont_check_sigs: bool,
        nar: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<()> {
        self.begin()?;
        let mut req = Request::new();
        req.u64(Op::AddToStoreNar as u64);
        info.write(&mut req, &self.store_dir, self.info.version);
        req.bool(repair).bool(dont_check_sigs);
        let framed = self.info.version >= ProtocolVersion::new(1, 23);
        let mut uploaded = !framed;
        let r = async {
            self.send(&req).await?;
            if framed {
                upload_framed(
                    &mut self.reader,
                    &mut self.writer,
                    self.info.version,
                    &self.limits,
                    &*self.logger,
                    Upload::one(nar),
                    &mut uploaded,
                )
                .await
            } else {
                self.stderr(Io {
                    source: Some(nar),
                    ..Io::default()
                })
                .await
            }
        }
        .await;
        self.end(r, uploaded)
    }

    /// `AddMultipleToStore` (≥ 1.32): many NARs with their metadata in one framed stream.
    pub async fn add_multiple_to_store(
        &mut self,
        items: Vec<(ValidPathInfo, Source<'_>)>,
        repair: bool,
        dont_check_sigs: bool,
    ) -> Result<()> {
        self.need("AddMultipleToStore", 32)?;
        self.begin()?;
        let mut req = Request::new();
        req.u64(Op::AddMultipleToStore as u64)
            .bool(repair)
            .bool(dont_check_sigs);
        let mut count = Request::new();
        count.u64(items.len() as u64);
        let upload = Upload {
            prefix: count.into_bytes(),
            parts: items
                .into_iter()
                .map(|(info, source)| {
                    let mut h = Request::new();
                    info.write(&mut h, &self.store_dir, self.info.version);
                    (h.into_bytes(), source)
                })
                .collect(),
        };
        let mut uploaded = false;
        let r = async {
            self.send(&req).await?;
            upload_framed(
                &mut self.reader,
                &mut self.writer,
                self.info.version,
                &self.limits,
                &*self.logger,
                upload,
                &mut uploaded,
            )
            .await
        }
        .await;
        self.end(r, uploaded)
    }

    /// `NarFromPath`: passes the path's NAR to `sink`, returns its size.
    pub async fn nar_from_path(
        &mut self,
        path: &StorePath,
        sink: &mut (dyn FnMut(&[u8]) -> io::Result<()> + Send),
    ) -> Result<u64> {
        self.begin()?;
        let mut req = Request::new();
        req.u64(Op::NarFromPath as u64).path(&self.store_dir, path);
        let r = async {
            self.send(&req).await?;
            self.stderr(Io::default()).await?;
            copy_nar(&mut self.reader, &self.nar_limits, sink).await
        }
        .await;
        self.end(r, true)
    }

    fn derived_paths(&self, paths: &[DerivedPath]) -> Result<Vec<String>> {
        paths
            .iter()
            .map(|p| p.to_wire_string(&self.store_dir, self.info.version))
            .collect()
    }

    /// `BuildPaths` (build mode normal). A failure is a [`Error::Remote`].
    pub async fn build_paths(&mut self, paths: &[DerivedPath]) -> Result<BuildLogs> {
        let strings = self.derived_paths(paths)?;
        self.begin()?;
        let mut req = Request::new();
        req.u64(Op::BuildPaths as u64).strings(&strings).u64(0);
        let mut logs = BuildLogs::default();
        let r = async {
            self.send(&req).await?;
            self.stderr(Io {
                logs: Some(&mut logs),
                ..Io::default()
            })
            .await?;
            wire::read_u64(&mut self.reader, "a result").await
        }
        .await;
        self.end(r, true).map(|_| logs)
    }

    /// `BuildPathsWithResults` (≥ 1.34): one result per requested path, in order.
    pub async fn build_paths_with_results(
        &mut self,
        paths: &[DerivedPath],
    ) -> Result<(Vec<(DerivedPath, BuildResult)>, BuildLogs)> {
        self.need("BuildPathsWithResults", 34)?;
        let strings = self.derived_paths(paths)?;
        self.begin()?;
        let mut req = Request::new();
        req.u64(Op::BuildPathsWithResults as u64)
            .strings(&strings)
            .u64(0);
        let mut logs = BuildLogs::default();
        let r = async {
            self.send(&req).await?;
            self.stderr(Io {
                logs: Some(&mut logs),
                ..Io::default()
            })
            .await?;
            let n = wire::read_count(&mut self.reader, &self.limits, "build results").await?;
            let mut out = Vec::new();
            for _ in 0..n {
                let s =
                    wire::read_string(&mut self.reader, self.limits.max_string, "a derived path")
                        .await?;
                let path = DerivedPath::parse(&self.store_dir, &s)?;
                let res = BuildResult::read(
                    &mut self.reader,
                    &self.store_dir,
                    self.info.version,
                    &self.limits,
                )
                .await?;
                out.push((path, res));
            }
            Ok(out)
        }
        .await;
        self.end(r, true).map(|r| (r, logs))
    }
}
