//! Nix's SQLite database (`nix/var/nix/db/db.sqlite`), schema version 10 as in Nix 2.x, so that
//! real Nix can open a store evalbox wrote and the other way round.
//!
//! Tables: `ValidPaths` (one row per valid path; `hash` is `sha256:<base16>`), `Refs`
//! (referrer → reference, by row id), `DerivationOutputs` (drv row id, output name, path).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix_formats::{ContentAddress, NixHash, StoreDir, StorePath};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::{Error, PathInfo, Result};

/// The schema version Nix 2.x writes to `db/schema`.
pub const SCHEMA_VERSION: u32 = 10;

const SCHEMA: &str = "
create table if not exists ValidPaths (
    id               integer primary key autoincrement not null,
    path             text unique not null,
    hash             text not null,
    registrationTime integer not null,
    deriver          text,
    narSize          integer,
    ultimate         integer,
    sigs             text,
    ca               text
);
create table if not exists Refs (
    referrer  integer not null,
    reference integer not null,
    primary key (referrer, reference),
    foreign key (referrer) references ValidPaths(id) on delete cascade,
    foreign key (reference) references ValidPaths(id) on delete restrict
);
create index if not exists IndexReferrer on Refs(referrer);
create index if not exists IndexReference on Refs(reference);
create trigger if not exists DeleteSelfRefs before delete on ValidPaths
  begin
    delete from Refs where referrer = old.id and reference = old.id;
  end;
create table if not exists DerivationOutputs (
    drv  integer not null,
    id   text not null,
    path text not null,
    primary key (drv, id),
    foreign key (drv) references ValidPaths(id) on delete cascade
);
create index if not exists IndexDerivationOutputs on DerivationOutputs(path);
";

/// An open store database.
#[derive(Debug)]
pub struct Db {
    conn: Connection,
    path: PathBuf,
    store_dir: StoreDir,
    /// `big-lock`, held shared while the database is open (as Nix does).
    _big_lock: std::fs::File,
}

impl Db {
    /// Open (creating if needed) the database in `db_dir`, checking the schema version.
    pub fn open(db_dir: &Path, store_dir: StoreDir) -> Result<Self> {
        std::fs::create_dir_all(db_dir).map_err(|e| Error::io(db_dir, e))?;
        let schema_file = db_dir.join("schema");
        // Nix's big lock: held shared while the store is open; a process that creates the
        // database holds it exclusively meanwhile, so two first opens never race. An opener
        // that finds no schema and cannot have the lock at once waits for it shared instead:
        // another opener is creating the database (and holds it exclusively until done) or
        // has it open already (shared, for as long as it lives: waiting for it exclusively
        // would wait forever, even between two stores of one process).
        let lock_path = db_dir.join("big-lock");
        let big_lock = super::lock::open_lock_file(&lock_path)?;
        let exclusive = !schema_file.exists()
            && match big_lock.try_lock() {
                Ok(()) => true,
                Err(std::fs::TryLockError::WouldBlock) => false,
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
            };
        if !exclusive {
            big_lock
                .lock_shared()
                .map_err(|e| Error::io(&lock_path, e))?;
        }
        let current = match std::fs::read_to_string(&schema_file) {
            Ok(s) => Some(s.trim().parse::<u32>().map_err(|_| {
                Error::Corrupt(format!(
                    "{}: not a schema version: {s:?}",
                    schema_file.display()
                ))
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&schema_file, e)),
        };
        if let Some(v) = current
            && v != SCHEMA_VERSION
        {
            return Err(Error::Unsupported(format!(
                "{}: database schema version {v}, evalbox supports {SCHEMA_VERSION}",
                schema_file.display()
            )));
        }
        let path = db_dir.join("db.sqlite");
        let conn = Connection::open(&path).map_err(|source| Error::Database {
            path: path.clone(),
            source,
        })?;
        let db = Db {
            conn,
            path,
            store_dir,
            _big_lock: big_lock,
        };
        db.conn
            .busy_timeout(Duration::from_secs(60 * 60))
            .map_err(|e| db.err(e))?;
        // As Nix does: WAL, foreign keys on, normal sync (WAL keeps it crash-safe).
        db.conn
            .execute_batch(
                "pragma foreign_keys = 1; pragma main.journal_mode = wal; pragma synchronous = normal;",
            )
            .map_err(|e| db.err(e))?;
        if current.is_none() {
            db.conn
                .execute_batch(&format!("begin immediate; {SCHEMA} commit;"))
                .map_err(|e| db.err(e))?;
            crate::fs::write_atomically(&schema_file, format!("{SCHEMA_VERSION}").as_bytes())?;
            db._big_lock
                .lock_shared()
                .map_err(|e| Error::io(db_dir.join("big-lock"), e))?;
        }
        Ok(db)
    }

    fn err(&self, source: rusqlite::Error) -> Error {
        Error::Database {
            path: self.path.clone(),
            source,
        }
    }

    fn abs(&self, p: &StorePath) -> String {
        self.store_dir.display(p)
    }

    fn parse(&self, s: &str) -> Result<StorePath> {
        self.store_dir
            .parse(s)
            .map_err(|e| Error::Corrupt(format!("{}: {s}: {e}", self.path.display())))
    }

    /// Is `path` registered?
    pub fn is_valid(&self, path: &StorePath) -> Result<bool> {
        self.conn
            .prepare_cached("select 1 from ValidPaths where path = ?1")
            .and_then(|mut st| st.exists(params![self.abs(path)]))
            .map_err(|e| self.err(e))
    }

    /// The full info of a registered path.
    pub fn path_info(&self, path: &StorePath) -> Result<Option<PathInfo>> {
        type Row = (
            i64,
            String,
            i64,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<String>,
        );
        let row: Option<Row> = self
            .conn
            .prepare_cached(
                "select id, hash, registrationTime, deriver, narSize, ultimate, sigs, ca \
                 from ValidPaths where path = ?1",
            )
            .and_then(|mut st| {
                st.query_row(params![self.abs(path)], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                })
                .optional()
            })
            .map_err(|e| self.err(e))?;
        let Some((id, hash, reg_time, deriver, nar_size, ultimate, sigs, ca)) = row else {
            return Ok(None);
        };
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            Error::Corrupt(format!(
                "{}: {what} of {}: {e}",
                self.path.display(),
                self.abs(path)
            ))
        };
        let nar_hash = NixHash::parse(&hash, None).map_err(|e| corrupt("hash", &e))?;
        let deriver = match deriver.filter(|d| !d.is_empty()) {
            Some(d) => Some(self.parse(&d)?),
            None => None,
        };
        let ca = match ca.filter(|c| !c.is_empty()) {
            Some(c) => Some(c.parse::<ContentAddress>().map_err(|e| corrupt("ca", &e))?),
            None => None,
        };
        let references = self.references_of(id)?;
        Ok(Some(PathInfo {
            path: path.clone(),
            deriver,
            nar_hash,
            nar_size: nar_size.unwrap_or(0).max(0) as u64,
            references,
            registration_time: reg_time,
            ultimate: ultimate.unwrap_or(0) != 0,
            signatures: sigs
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            ca,
        }))
    }

    /// Run a query whose rows are absolute store paths.
    fn query_paths(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<StorePath>> {
        let mut st = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map(args, |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(self.parse(&r.map_err(|e| self.err(e))?)?);
        }
        Ok(out)
    }

    fn references_of(&self, id: i64) -> Result<BTreeSet<StorePath>> {
        let refs = self.query_paths(
            "select path from Refs join ValidPaths on reference = id where referrer = ?1",
            params![id],
        )?;
        Ok(refs.into_iter().collect())
    }

    /// The registered paths that refer to `path`.
    pub fn referrers(&self, path: &StorePath) -> Result<BTreeSet<StorePath>> {
        let refs = self.query_paths(
            "select path from Refs join ValidPaths on referrer = id \
             where reference = (select id from ValidPaths where path = ?1)",
            params![self.abs(path)],
        )?;
        Ok(refs.into_iter().collect())
    }

    /// Output name → path of a registered derivation.
    pub fn derivation_outputs(&self, drv: &StorePath) -> Result<BTreeMap<String, StorePath>> {
        let mut st = self
            .conn
            .prepare_cached(
                "select DerivationOutputs.id, DerivationOutputs.path from DerivationOutputs \
                 join ValidPaths on drv = ValidPaths.id where ValidPaths.path = ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![self.abs(drv)], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut out = BTreeMap::new();
        for r in rows {
            let (id, p) = r.map_err(|e| self.err(e))?;
            out.insert(id, self.parse(&p)?);
        }
        Ok(out)
    }

    /// Everything the garbage collector needs at once: each registered path with its
    /// deriver and NAR size, the references between them, and derivations' outputs.
    pub fn graph(&self) -> Result<Graph> {
        let mut g = Graph::default();
        let mut ids = BTreeMap::new();
        {
            let mut st = self
                .conn
                .prepare("select id, path, deriver, narSize from ValidPaths")
                .map_err(|e| self.err(e))?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                    ))
                })
                .map_err(|e| self.err(e))?;
            for row in rows {
                let (id, path, deriver, size) = row.map_err(|e| self.err(e))?;
                let path = self.parse(&path)?;
                ids.insert(id, path.clone());
                let deriver = deriver.and_then(|d| self.parse(&d).ok());
                g.paths.insert(
                    path,
                    Node {
                        deriver,
                        nar_size: size.unwrap_or(0).max(0) as u64,
                        ..Node::default()
                    },
                );
            }
        }
        let mut st = self
            .conn
            .prepare("select referrer, reference from Refs")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (from, to) = row.map_err(|e| self.err(e))?;
            if let (Some(from), Some(to)) = (ids.get(&from), ids.get(&to))
                && let Some(node) = g.paths.get_mut(from)
            {
                node.references.insert(to.clone());
            }
        }
        let mut st = self
            .conn
            .prepare("select drv, path from DerivationOutputs")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (drv, out) = row.map_err(|e| self.err(e))?;
            if let (Some(drv), Ok(out)) = (ids.get(&drv), self.parse(&out))
                && let Some(node) = g.paths.get_mut(drv)
            {
                node.outputs.insert(out);
            }
        }
        Ok(g)
    }

    /// Unregisters `paths` in one transaction (their references and derivation outputs go
    /// with them). No path left registered may refer to one of them.
    pub fn invalidate(&mut self, paths: &[StorePath]) -> Result<()> {
        let path = self.path.clone();
        let err = |source| Error::Database {
            path: path.clone(),
            source,
        };
        let abs: Vec<String> = paths.iter().map(|p| self.abs(p)).collect();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        // References among the paths themselves are checked when the transaction ends.
        tx.execute_batch("pragma defer_foreign_keys = on")
            .map_err(err)?;
        for p in &abs {
            tx.prepare_cached("delete from ValidPaths where path = ?1")
                .and_then(|mut st| st.execute(params![p]))
                .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// All registered paths.
    pub fn all_paths(&self) -> Result<Vec<StorePath>> {
        self.query_paths("select path from ValidPaths order by path", [])
    }

    /// Register `info` (and, for a derivation, its outputs) in one immediate transaction. Every
    /// reference other than the path itself must already be registered. Registering an already
    /// valid path is a no-op.
    pub fn register(
        &mut self,
        info: &PathInfo,
        drv_outputs: &BTreeMap<String, StorePath>,
    ) -> Result<()> {
        self.register_all(std::slice::from_ref(info), drv_outputs)
    }

    /// Register all of `infos` in one immediate transaction (the outputs of one build, which
    /// may refer to each other): every reference must be registered already or be one of
    /// `infos`. Paths already valid are left as they are. `drv_outputs` are recorded for the
    /// first path (a derivation's).
    pub fn register_all(
        &mut self,
        infos: &[PathInfo],
        drv_outputs: &BTreeMap<String, StorePath>,
    ) -> Result<()> {
        let path = self.path.clone();
        let store_dir = self.store_dir.clone();
        let err = |source| Error::Database {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let id_of = |abs: &str| -> Result<Option<i64>> {
            tx.prepare_cached("select id from ValidPaths where path = ?1")
                .and_then(|mut st| st.query_row(params![abs], |row| row.get(0)).optional())
                .map_err(err)
        };
        // First every row, then the references between them and to older paths.
        let mut new = Vec::new();
        for info in infos {
            let abs = store_dir.display(&info.path);
            if id_of(&abs)?.is_some() {
                continue;
            }
            tx.prepare_cached(
                "insert into ValidPaths (path, hash, registrationTime, deriver, narSize, ultimate, sigs, ca) \
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    abs,
                    info.nar_hash.to_typed_base16(),
                    info.registration_time,
                    info.deriver.as_ref().map(|d| store_dir.display(d)),
                    info.nar_size as i64,
                    if info.ultimate { Some(1) } else { None },
                    if info.signatures.is_empty() {
                        None
                    } else {
                        Some(info.signatures.join(" "))
                    },
                    info.ca.as_ref().map(|c| c.to_string()),
                ])
            })
            .map_err(err)?;
            new.push((info, abs, tx.last_insert_rowid()));
        }
        for (info, abs, id) in &new {
            for r in &info.references {
                let rid = id_of(&store_dir.display(r))?.ok_or_else(|| {
                    Error::BadInput(format!(
                        "cannot add '{abs}': its reference '{}' is not valid",
                        store_dir.display(r)
                    ))
                })?;
                tx.prepare_cached(
                    "insert or ignore into Refs (referrer, reference) values (?1, ?2)",
                )
                .and_then(|mut st| st.execute(params![id, rid]))
                .map_err(err)?;
            }
        }
        if let Some((_, _, id)) = new.first() {
            for (name, out) in drv_outputs {
                tx.prepare_cached(
                    "insert or replace into DerivationOutputs (drv, id, path) values (?1, ?2, ?3)",
                )
                .and_then(|mut st| st.execute(params![id, name, store_dir.display(out)]))
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }
}

/// The registered paths as the garbage collector sees them ([`Db::graph`]).
#[derive(Debug, Default)]
pub struct Graph {
    /// Every registered path.
    pub paths: BTreeMap<StorePath, Node>,
}

/// One registered path in a [`Graph`].
#[derive(Debug, Default)]
pub struct Node {
    /// The paths it refers to.
    pub references: BTreeSet<StorePath>,
    /// The derivation that built it, if recorded.
    pub deriver: Option<StorePath>,
    /// For a derivation, the output paths recorded for it.
    pub outputs: BTreeSet<StorePath>,
    /// Its NAR size.
    pub nar_size: u64,
}
