//! Reading local Git repositories for `builtins.fetchGit`, through the evaluator's I/O
//! boundary only: the repository is read as any other source, so the sandbox confines it to
//! the granted directories, and no `git` program runs (a repository's configuration can make
//! git run commands).
//!
//! The formats (index, objects, packs) are parsed sans I/O in the submodules; [`Repo`] finds
//! the files and reads them through [`EvalIo`], packs by position, never whole. Libraries
//! such as gitoxide read object databases through memory maps and the file system directly,
//! which WASI and the evaluator's boundary do not offer.
//!
//! What is read is what `fetchGit` of a working tree needs: the files `git ls-files` lists
//! (recursing into active submodules when asked), whether `git diff HEAD` sees changes, the
//! `HEAD` commit and its ancestors.

pub mod index;
pub mod object;
pub mod pack;

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use crate::io::{EvalIo, FileType, IoError};
use index::IndexEntry;
use object::{Commit, Kind, Mode, Oid};
use pack::{EntryKind, PackIndex};

/// Why a repository could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("corrupt repository: {0}")]
    Corrupt(String),
    #[error("unsupported repository feature: {0}")]
    Unsupported(String),
    #[error("object {0} is missing")]
    Missing(Oid),
}

type Result<T> = std::result::Result<T, GitError>;

/// Symbolic references followed at most (git's own limit is 5 levels of `ref:`).
const MAX_SYMREF_DEPTH: usize = 10;
/// Deltas followed at most to rebuild one object (git writes chains of at most 50).
const MAX_DELTA_DEPTH: usize = 1000;
/// Bytes of rebuilt pack objects kept for the bases of later deltas.
const CACHE_BYTES: usize = 64 << 20;

/// A working tree and its repository.
pub struct Repo<'a> {
    io: &'a dyn EvalIo,
    /// The top of the working tree.
    pub worktree: String,
    git_dir: String,
    /// Where objects, most refs and the configuration live (differs from `git_dir` in a
    /// linked worktree).
    common_dir: String,
    odb: Odb<'a>,
    /// The index and `HEAD`'s commit, read once: a fetch asks for them several times.
    index: OnceCell<Vec<IndexEntry>>,
    head: OnceCell<Option<Oid>>,
}

impl<'a> Repo<'a> {
    /// The repository whose working tree is `worktree`, or `None` without a `.git` there.
    pub fn open(io: &'a dyn EvalIo, worktree: &str) -> Result<Option<Repo<'a>>> {
        let worktree = worktree.trim_end_matches('/').to_owned();
        let dot_git = format!("{worktree}/.git");
        let git_dir = match io.file_type(&dot_git, true) {
            Ok(FileType::Directory) => dot_git,
            // A submodule or linked worktree: `gitdir: <path>`, relative to the working tree.
            Ok(FileType::Regular) => {
                let text = io.read_file(&dot_git)?;
                let text = String::from_utf8_lossy(&text);
                let target = text
                    .trim_end()
                    .strip_prefix("gitdir: ")
                    .ok_or_else(|| GitError::Corrupt(format!("'{dot_git}' is not a gitfile")))?;
                join(&worktree, target)
            }
            Ok(_) | Err(IoError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let common_dir = match io.read_file(&format!("{git_dir}/commondir")) {
            Ok(text) => join(&git_dir, String::from_utf8_lossy(&text).trim_end()),
            Err(IoError::NotFound(_)) => git_dir.clone(),
            Err(e) => return Err(e.into()),
        };
        let config = Config::read(io, &format!("{common_dir}/config"))?;
        if let Some(format) = config.get("extensions", None, "objectformat")
            && !format.eq_ignore_ascii_case("sha1")
        {
            return Err(GitError::Unsupported(format!("object format {format}")));
        }
        let odb = Odb::new(io, &format!("{common_dir}/objects"))?;
        Ok(Some(Repo {
            io,
            worktree,
            git_dir,
            common_dir,
            odb,
            index: OnceCell::new(),
            head: OnceCell::new(),
        }))
    }

    /// The commit `HEAD` names (`HEAD^{commit}`), or `None` before the first commit.
    pub fn head(&self) -> Result<Option<Oid>> {
        if let Some(head) = self.head.get() {
            return Ok(*head);
        }
        let head = self.read_head()?;
        Ok(*self.head.get_or_init(|| head))
    }

    fn read_head(&self) -> Result<Option<Oid>> {
        let Some(mut oid) = self.resolve_ref("HEAD")? else {
            return Ok(None);
        };
        for _ in 0..MAX_SYMREF_DEPTH {
            let (kind, data) = self.odb.read(&oid)?;
            match kind {
                Kind::Commit => return Ok(Some(oid)),
                Kind::Tag => oid = object::tag_target(&data)?,
                _ => return Ok(None),
            }
        }
        Err(GitError::Corrupt("tags nest too deep".into()))
    }

    /// The object a reference names, following symbolic references.
    fn resolve_ref(&self, name: &str) -> Result<Option<Oid>> {
        let mut name = name.to_owned();
        for _ in 0..MAX_SYMREF_DEPTH {
            // `HEAD` and the other pseudo-refs are per working tree; `refs/` are shared.
            let dir = if name.starts_with("refs/") && !name.starts_with("refs/worktree/") {
                &self.common_dir
            } else {
                &self.git_dir
            };
            let text = match self.io.read_file(&format!("{dir}/{name}")) {
                Ok(t) => String::from_utf8_lossy(&t).trim_end().to_owned(),
                Err(IoError::NotFound(_)) => match self.packed_ref(&name)? {
                    Some(oid) => return Ok(Some(oid)),
                    None => return Ok(None),
                },
                Err(e) => return Err(e.into()),
            };
            match text.strip_prefix("ref: ") {
                Some(target) => name = target.trim().to_owned(),
                None => {
                    return Oid::from_hex(&text).map(Some).ok_or_else(|| {
                        GitError::Corrupt(format!("reference {name} holds '{text}'"))
                    });
                }
            }
        }
        Err(GitError::Corrupt(format!("reference {name} loops")))
    }

    fn packed_ref(&self, name: &str) -> Result<Option<Oid>> {
        let text = match self
            .io
            .read_file(&format!("{}/packed-refs", self.common_dir))
        {
            Ok(t) => t,
            Err(IoError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with('^'))
            .filter_map(|l| l.split_once(' '))
            .find(|(_, r)| *r == name)
            .and_then(|(oid, _)| Oid::from_hex(oid)))
    }

    /// The index's entries (none if there is no index yet).
    pub fn index(&self) -> Result<&[IndexEntry]> {
        if let Some(entries) = self.index.get() {
            return Ok(entries);
        }
        let entries = match self.io.read_file(&format!("{}/index", self.git_dir)) {
            Ok(data) => index::parse(&data)?,
            Err(IoError::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(self.index.get_or_init(|| entries))
    }

    /// A commit's fields.
    pub fn commit(&self, oid: &Oid) -> Result<Commit> {
        match self.odb.read(oid)? {
            (Kind::Commit, data) => object::parse_commit(&data),
            (kind, _) => Err(GitError::Corrupt(format!(
                "{oid} is a {kind:?}, not a commit"
            ))),
        }
    }

    /// Every non-tree entry below the tree `oid`, by `/`-separated path.
    pub fn tree_files(&self, oid: &Oid) -> Result<BTreeMap<String, (Mode, Oid)>> {
        let mut out = BTreeMap::new();
        let mut pending = vec![(String::new(), *oid)];
        while let Some((prefix, oid)) = pending.pop() {
            let data = match self.odb.read(&oid)? {
                (Kind::Tree, data) => data,
                (kind, _) => {
                    return Err(GitError::Corrupt(format!(
                        "{oid} is a {kind:?}, not a tree"
                    )));
                }
            };
            for entry in object::tree_entries(&data)? {
                let name = String::from_utf8(entry.name.to_vec()).map_err(|_| {
                    GitError::Unsupported("tree entries whose names are not UTF-8".into())
                })?;
                let path = format!("{prefix}{name}");
                if entry.mode == Mode::Tree {
                    pending.push((format!("{path}/"), entry.oid));
                } else {
                    out.insert(path, (entry.mode, entry.oid));
                }
            }
        }
        Ok(out)
    }

    /// Whether the repository is a shallow clone.
    pub fn is_shallow(&self) -> Result<bool> {
        Ok(!self.shallow_commits()?.is_empty())
    }

    /// The commits a shallow clone has without their parents.
    fn shallow_commits(&self) -> Result<HashSet<Oid>> {
        match self.io.read_file(&format!("{}/shallow", self.common_dir)) {
            Ok(text) => Ok(String::from_utf8_lossy(&text)
                .lines()
                .filter_map(Oid::from_hex)
                .collect()),
            Err(IoError::NotFound(_)) => Ok(HashSet::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// How many commits `oid` and its ancestors are (`git rev-list --count`).
    pub fn rev_count(&self, oid: &Oid) -> Result<u64> {
        let shallow = self.shallow_commits()?;
        let mut seen = HashSet::from([*oid]);
        let mut pending = vec![*oid];
        while let Some(oid) = pending.pop() {
            if shallow.contains(&oid) {
                continue;
            }
            for parent in self.commit(&oid)?.parents {
                if seen.insert(parent) {
                    pending.push(parent);
                }
            }
        }
        Ok(seen.len() as u64)
    }

    /// The active submodules checked out in the working tree, by path: those `git ls-files
    /// --recurse-submodules` enters (`submodule.<name>.active`, `submodule.active`, or a URL
    /// in the repository's configuration, the name found through `.gitmodules`).
    fn active_submodules(&self, entries: &[IndexEntry]) -> Result<BTreeSet<String>> {
        let gitlinks: Vec<&str> = entries
            .iter()
            .filter(|e| e.mode == Mode::Gitlink)
            .map(|e| e.path.as_str())
            .collect();
        if gitlinks.is_empty() {
            return Ok(BTreeSet::new());
        }
        let modules = Config::read(self.io, &format!("{}/.gitmodules", self.worktree))?;
        let config = Config::read(self.io, &format!("{}/config", self.common_dir))?;
        let mut active = BTreeSet::new();
        for path in gitlinks {
            let Some(name) = modules.subsection_with("submodule", "path", path) else {
                continue;
            };
            let on = match config.get("submodule", Some(name), "active") {
                Some(v) => config_bool(v),
                None => {
                    config.get("submodule", None, "active").is_some()
                        || config.get("submodule", Some(name), "url").is_some()
                }
            };
            if on {
                active.insert(path.to_owned());
            }
        }
        Ok(active)
    }

    /// The paths of the submodules (gitlinks) in the index.
    pub fn gitlinks(&self) -> Result<BTreeSet<String>> {
        Ok(self
            .index()?
            .iter()
            .filter(|e| e.mode == Mode::Gitlink)
            .map(|e| e.path.clone())
            .collect())
    }

    /// The paths `git ls-files` lists, relative to the working tree; with `recurse`, those of
    /// active submodules are listed, prefixed with the submodule's path, instead of it.
    pub fn tracked_files(&self, recurse: bool) -> Result<BTreeSet<String>> {
        let entries = self.index()?;
        let submodules = if recurse {
            self.active_submodules(entries)?
        } else {
            BTreeSet::new()
        };
        let mut out = BTreeSet::new();
        for e in entries {
            if !submodules.contains(&e.path) {
                out.insert(e.path.clone());
                continue;
            }
            let sub = format!("{}/{}", self.worktree, e.path);
            if let Some(repo) = Repo::open(self.io, &sub)? {
                for f in repo.tracked_files(true)? {
                    out.insert(format!("{}/{f}", e.path));
                }
            }
        }
        Ok(out)
    }

    /// Whether `git diff HEAD` sees a change in the working tree, not counting changes in
    /// submodules unless `submodules` is set. Without a `HEAD` commit everything is new.
    ///
    /// Changes are seen by contents: a file's blob id against `HEAD`'s. What WASI does not
    /// show is not seen: a change of only the executable bit, or of a symlink's target.
    pub fn is_dirty(&self, submodules: bool) -> Result<bool> {
        let Some(head) = self.head()? else {
            return Ok(true);
        };
        let committed = self.tree_files(&self.commit(&head)?.tree)?;
        let entries = self.index()?;
        let indexed: HashMap<&str, &IndexEntry> =
            entries.iter().map(|e| (e.path.as_str(), e)).collect();
        let is_gitlink = |mode: Mode| mode == Mode::Gitlink;
        // Staged additions and removals.
        for e in entries {
            if e.stage != 0 || e.intent_to_add {
                return Ok(true);
            }
            match committed.get(&e.path) {
                Some((mode, _)) if is_gitlink(*mode) != is_gitlink(e.mode) => return Ok(true),
                Some(_) => {}
                None if is_gitlink(e.mode) && !submodules => {}
                None => return Ok(true),
            }
        }
        for (path, (mode, _)) in &committed {
            if !indexed.contains_key(path.as_str()) && (submodules || !is_gitlink(*mode)) {
                return Ok(true);
            }
        }
        // The working tree against `HEAD`.
        for e in entries {
            // Only a submodule added (and ignored) is in the index and not in `HEAD`.
            let Some(&(mode, oid)) = committed.get(&e.path) else {
                continue;
            };
            let path = format!("{}/{}", self.worktree, e.path);
            let dirty = match mode {
                Mode::Gitlink if !submodules => false,
                Mode::Gitlink => match Repo::open(self.io, &path)? {
                    // Not checked out: nothing to compare.
                    None => false,
                    Some(sub) => sub.head()? != Some(oid) || sub.is_dirty(true)?,
                },
                Mode::Symlink => self.io.file_type(&path, false) != Ok(FileType::Symlink),
                _ => match self.io.file_type(&path, false) {
                    Ok(FileType::Regular) => Oid::of_blob(&self.io.read_file(&path)?) != oid,
                    Ok(_) | Err(IoError::NotFound(_)) => true,
                    Err(e) => return Err(e.into()),
                },
            };
            if dirty {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// `rel` resolved against the directory `base` (absolute `rel` as it is).
fn join(base: &str, rel: &str) -> String {
    if rel.starts_with('/') {
        nix_args::canon_path(rel)
    } else {
        nix_args::canon_path(&format!("{base}/{rel}"))
    }
}

fn config_bool(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "" | "true" | "yes" | "on" | "1"
    )
}

/// The few settings of a git configuration file (or `.gitmodules`) that are read here:
/// `(section, subsection, key, value)`, section and key lower-cased.
struct Config(Vec<(String, Option<String>, String, String)>);

impl Config {
    /// The settings of the file at `path` (none if it does not exist).
    fn read(io: &dyn EvalIo, path: &str) -> Result<Config> {
        let text = match io.read_file(path) {
            Ok(t) => t,
            Err(IoError::NotFound(_)) => return Ok(Config(Vec::new())),
            Err(e) => return Err(e.into()),
        };
        let text = String::from_utf8_lossy(&text);
        let mut out = Vec::new();
        let (mut section, mut sub) = (String::new(), None);
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(header) = line.strip_prefix('[') {
                let header = header.split(']').next().unwrap_or("");
                match header.split_once(char::is_whitespace) {
                    Some((s, rest)) => {
                        section = s.to_ascii_lowercase();
                        sub = Some(rest.trim().trim_matches('"').replace("\\\"", "\""));
                    }
                    None => match header.split_once('.') {
                        // The deprecated `[section.subsection]` form.
                        Some((s, rest)) => {
                            section = s.to_ascii_lowercase();
                            sub = Some(rest.to_ascii_lowercase());
                        }
                        None => {
                            section = header.to_ascii_lowercase();
                            sub = None;
                        }
                    },
                }
                continue;
            }
            let (key, value) = match line.split_once('=') {
                Some((k, v)) => (k.trim(), unquote(v.trim())),
                None => (line, String::new()),
            };
            out.push((
                section.clone(),
                sub.clone(),
                key.to_ascii_lowercase(),
                value,
            ));
        }
        Ok(Config(out))
    }

    /// The last value of `section.subsection.key`.
    fn get(&self, section: &str, sub: Option<&str>, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(s, ss, k, _)| s == section && ss.as_deref() == sub && k == key)
            .map(|(.., v)| v.as_str())
    }

    /// The subsection of `section` whose `key` is `value` (a submodule's name by its path).
    fn subsection_with(&self, section: &str, key: &str, value: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(s, _, k, v)| s == section && k == key && v == value)
            .and_then(|(_, ss, ..)| ss.as_deref())
    }
}

/// A configuration value without its quotes, escapes and trailing comment.
fn unquote(v: &str) -> String {
    let mut out = String::new();
    let (mut quoted, mut chars) = (false, v.chars());
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(c) => out.push(c),
                None => {}
            },
            '#' | ';' if !quoted => break,
            c => out.push(c),
        }
    }
    out.trim_end().to_owned()
}

/// A repository's objects: loose, and in the packs of its object directory and of its
/// alternates.
struct Odb<'a> {
    io: &'a dyn EvalIo,
    dirs: Vec<String>,
    packs: Vec<Pack>,
    /// Rebuilt pack objects, for the bases of later deltas.
    cache: RefCell<BaseCache>,
}

/// Pack objects by `(pack, offset)`, and their total size.
type BaseCache = (HashMap<(usize, u64), (Kind, Rc<[u8]>)>, usize);

struct Pack {
    path: String,
    index: PackIndex,
}

impl<'a> Odb<'a> {
    fn new(io: &'a dyn EvalIo, objects: &str) -> Result<Odb<'a>> {
        let mut dirs = vec![objects.to_owned()];
        let mut i = 0;
        while i < dirs.len() && dirs.len() < 16 {
            let alternates = match io.read_file(&format!("{}/info/alternates", dirs[i])) {
                Ok(t) => String::from_utf8_lossy(&t).into_owned(),
                Err(IoError::NotFound(_)) => String::new(),
                Err(e) => return Err(e.into()),
            };
            for line in alternates
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                let dir = join(&dirs[i], line);
                if !dirs.contains(&dir) {
                    dirs.push(dir);
                }
            }
            i += 1;
        }
        let mut packs = Vec::new();
        for dir in &dirs {
            let pack_dir = format!("{dir}/pack");
            let mut names = match io.read_dir(&pack_dir) {
                Ok(entries) => entries
                    .into_iter()
                    .filter_map(|(n, _)| n.strip_suffix(".idx").map(str::to_owned))
                    .collect::<Vec<_>>(),
                Err(IoError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            names.sort();
            for name in names {
                let index = PackIndex::parse(io.read_file(&format!("{pack_dir}/{name}.idx"))?)?;
                packs.push(Pack {
                    path: format!("{pack_dir}/{name}.pack"),
                    index,
                });
            }
        }
        Ok(Odb {
            io,
            dirs,
            packs,
            cache: RefCell::default(),
        })
    }

    /// An object's kind and contents.
    fn read(&self, oid: &Oid) -> Result<(Kind, Rc<[u8]>)> {
        self.read_at_depth(oid, 0)
    }

    fn read_at_depth(&self, oid: &Oid, depth: usize) -> Result<(Kind, Rc<[u8]>)> {
        let hex = oid.to_hex();
        for dir in &self.dirs {
            let path = format!("{dir}/{}/{}", &hex[..2], &hex[2..]);
            match self.io.read_file(&path) {
                Ok(compressed) => {
                    let data = inflate_all(&compressed)
                        .map_err(|e| GitError::Corrupt(format!("loose object {hex}: {e}")))?;
                    let (kind, body) = object::split_loose(&data)?;
                    return Ok((kind, body.into()));
                }
                Err(IoError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        for (i, pack) in self.packs.iter().enumerate() {
            if let Some(offset) = pack.index.offset_of(oid)? {
                return self.read_packed(i, offset, depth);
            }
        }
        Err(GitError::Missing(*oid))
    }

    fn read_packed(&self, pack: usize, offset: u64, depth: usize) -> Result<(Kind, Rc<[u8]>)> {
        if depth > MAX_DELTA_DEPTH {
            return Err(GitError::Corrupt("delta chain too long".into()));
        }
        let path = &self.packs[pack].path;
        let head = self.io.read_file_range(path, offset, 32)?;
        let header = pack::entry_header(&head)?;
        let data = inflate_at(self.io, path, offset + header.len as u64, header.size)?;
        let (kind, data): (Kind, Rc<[u8]>) = match header.kind {
            EntryKind::Object(kind) => (kind, data.into()),
            EntryKind::OfsDelta(distance) => {
                let base_offset = offset
                    .checked_sub(distance)
                    .filter(|_| distance > 0)
                    .ok_or_else(|| GitError::Corrupt("delta base outside the pack".into()))?;
                let (kind, base) = self.cached(pack, base_offset, depth)?;
                (kind, pack::apply_delta(&base, &data)?.into())
            }
            EntryKind::RefDelta(base) => {
                let (kind, base) = self.read_at_depth(&base, depth + 1)?;
                (kind, pack::apply_delta(&base, &data)?.into())
            }
        };
        Ok((kind, data))
    }

    /// A pack object used as a delta base, remembered for the next delta against it.
    fn cached(&self, pack: usize, offset: u64, depth: usize) -> Result<(Kind, Rc<[u8]>)> {
        if let Some(hit) = self.cache.borrow().0.get(&(pack, offset)) {
            return Ok(hit.clone());
        }
        let (kind, data) = self.read_packed(pack, offset, depth + 1)?;
        let mut cache = self.cache.borrow_mut();
        if cache.1 + data.len() > CACHE_BYTES {
            *cache = Default::default();
        }
        cache.1 += data.len();
        cache.0.insert((pack, offset), (kind, data.clone()));
        Ok((kind, data))
    }
}

fn inflate_all(compressed: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(compressed).read_to_end(&mut out)?;
    Ok(out)
}

/// Inflates the zlib stream at `offset` in the file at `path` into exactly `size` bytes,
/// reading the file by position.
fn inflate_at(io: &dyn EvalIo, path: &str, start: u64, size: u64) -> Result<Vec<u8>> {
    use flate2::{Decompress, FlushDecompress, Status};
    let corrupt =
        |what: &str| GitError::Corrupt(format!("pack entry at {start} in {path}: {what}"));
    let mut offset = start;
    let size = usize::try_from(size).map_err(|_| corrupt("too large"))?;
    let mut out = vec![0u8; size];
    let mut z = Decompress::new(true);
    // Compressed data is rarely larger than the data; read a little more to finish the stream.
    let chunk = (size + 64).clamp(512, 1 << 20);
    loop {
        let input = io.read_file_range(path, offset, chunk)?;
        if input.is_empty() {
            return Err(corrupt("truncated"));
        }
        let (in_before, out_before) = (z.total_in(), z.total_out());
        let status = z
            .decompress(
                &input,
                &mut out[out_before as usize..],
                FlushDecompress::None,
            )
            .map_err(|e| corrupt(&e.to_string()))?;
        offset += z.total_in() - in_before;
        match status {
            Status::StreamEnd => break,
            _ if z.total_in() == in_before && z.total_out() == out_before => {
                return Err(corrupt("inflated data larger than stated"));
            }
            _ => {}
        }
    }
    if z.total_out() as usize != size {
        return Err(corrupt("inflated data smaller than stated"));
    }
    Ok(out)
}
