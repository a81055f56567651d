//! `builtins.fetchGit` of a local working tree, as Nix does it without `rev` or `ref`: the
//! files Git tracks, taken from the working tree, added to the store; `rev`, `revCount` and
//! `lastModified` from `HEAD`, or Nix's "dirty" values when the tree has changes. The
//! repository is read through the evaluator's I/O boundary ([`crate::git`]), so only granted
//! directories are reachable; remote repositories need a network the evaluator does not have.

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use nix_formats::FileIngestionMethod;

use super::err;
use crate::error::{Error, Result};
use crate::eval::{Coercion, Evaluator};
use crate::git::{GitError, Repo};
use crate::io::{AddToStore, EvalIo, FileType, IoError};
use crate::source::Pos;
use crate::value::*;

/// What `fetchGit` was asked for.
struct Request {
    url: String,
    name: String,
    shallow: bool,
    submodules: bool,
    /// `rev` or `ref`: a commit other than the working tree's.
    pinned: Option<String>,
}

fn request(ev: &Evaluator, arg: &Value, pos: Pos) -> Result<Request> {
    let mut req = Request {
        url: String::new(),
        name: "source".into(),
        shallow: false,
        submodules: false,
        pinned: None,
    };
    let string =
        |v: &Value| -> Result<String> { Ok(ev.coerce_to_string(v, pos, Coercion::AS_IS)?.s) };
    let attrs = match ev.force(arg)? {
        Value::Attrs(attrs) => attrs,
        other => {
            req.url = string(&other)?;
            return Ok(req);
        }
    };
    let mut url = None;
    for attr in attrs.sorted_by_name() {
        let name = attr.name.as_str();
        let value = ev.force(&attr.value)?;
        let boolean = |what: &str| match value {
            Value::Bool(b) => Ok(b),
            _ => Err(err(format!("attribute '{what}' must be a Boolean"), pos)),
        };
        match (name, &value) {
            (_, Value::Str(_) | Value::Path(_) | Value::Bool(_) | Value::Int(_)) => {}
            _ => {
                return Err(err(
                    format!(
                        "fetchTree argument '{name}' is {} while a string, Boolean or integer is expected",
                        value.type_desc()
                    ),
                    pos,
                ));
            }
        }
        match name {
            "url" => url = Some(string(&value)?),
            "name" => req.name = string(&value)?,
            "shallow" => req.shallow = boolean(name)?,
            "submodules" => req.submodules = boolean(name)?,
            "rev" | "ref" => req.pinned = Some(format!("{name} = \"{}\"", string(&value)?)),
            // Lock attributes, and fetching every ref, change nothing for a working tree.
            "allRefs" | "lastModified" | "revCount" | "narHash" => {}
            "type" => return Err(err("unexpected attribute 'type'", pos)),
            other => {
                return Err(err(
                    format!("unsupported Git input attribute '{other}'"),
                    pos,
                ));
            }
        }
    }
    req.url = url.ok_or_else(|| err("attribute 'url' is missing in call to 'fetchGit'", pos))?;
    Ok(req)
}

/// The local directory a `fetchGit` URL names, if it names one.
fn local_path(url: &str) -> Option<String> {
    let path = url.strip_prefix("file://").unwrap_or(url);
    path.starts_with('/')
        .then(|| crate::syntax::path::canon_path(path))
}

pub(super) fn b_fetch_git(ev: &Evaluator, a: &[Value], pos: Pos) -> Result<Value> {
    let req = request(ev, &a[0], pos)?;
    let Some(path) = local_path(&req.url) else {
        return Err(err(
            format!(
                "cannot fetch Git repository '{}': the sandboxed evaluator has no network; fetchGit \
                 reads local working trees (fetch a remote revision with fetchTarball and its hash)",
                req.url
            ),
            pos,
        ));
    };
    let git = |e: GitError| err(format!("reading Git repository '{path}': {e}"), pos);
    let io: &dyn EvalIo = ev.io.as_ref();
    let repo = match Repo::open(io, &path) {
        Ok(Some(repo)) => repo,
        Ok(None) => {
            return Err(err(
                format!(
                    "'{path}' is not the working tree of a Git repository (fetchGit reads local \
                     working trees; bare repositories and remote URLs need a clone)"
                ),
                pos,
            ));
        }
        Err(GitError::Io(e)) => return Err(Error::from(e).at(pos)),
        Err(e) => return Err(git(e)),
    };
    if let Some(pinned) = &req.pinned {
        return Err(err(
            format!(
                "fetchGit of '{path}' with {pinned}: the sandboxed evaluator reads the working \
                 tree only (omit rev and ref to fetch it)"
            ),
            pos,
        ));
    }
    let dirty = repo.is_dirty(req.submodules).map_err(git)?;
    let head = repo.head().map_err(git)?;
    if !dirty && !req.shallow && repo.is_shallow().map_err(git)? {
        return Err(err(
            format!("'{path}' is a shallow Git repository, but a non-shallow repository is needed"),
            pos,
        ));
    }
    if dirty {
        ev.diag(&format!("warning: Git tree '{path}' is dirty"));
    }
    let tracked = repo.tracked_files(req.submodules).map_err(git)?;
    // A clean tree is `HEAD`'s, which has each submodule it does not enter as an empty
    // directory (what `git archive` makes of it).
    let empty_dirs = if dirty || req.submodules {
        BTreeSet::new()
    } else {
        repo.gitlinks().map_err(git)?
    };
    let included = present(io, &path, &tracked, &empty_dirs).map_err(|e| Error::from(e).at(pos))?;
    let store_path = io
        .add_to_store(&AddToStore {
            path: &path,
            name: &req.name,
            method: FileIngestionMethod::Recursive,
            expected: None,
            included: Some(&included),
        })
        .map_err(|e| Error::from(e).at(pos))?;
    let nar_hash = io
        .nar_hash(&store_path)
        .map_err(|e| Error::from(e).at(pos))?;
    let (rev, rev_count, last_modified) = match head {
        Some(head) => {
            let commit = repo.commit(&head).map_err(git)?;
            if dirty {
                (None, 0, commit.commit_time)
            } else if req.shallow {
                (Some(head), 0, commit.commit_time)
            } else {
                let count = repo.rev_count(&head).map_err(git)?;
                (Some(head), count as i64, commit.commit_time)
            }
        }
        None => (None, 0, 0),
    };
    let rev = rev.map_or_else(|| "0".repeat(40), |r| r.to_hex());
    let mut b = AttrsBuilder::default();
    b.add(
        "outPath",
        Value::Str(Rc::new(NixString::with_elem(
            store_path.clone(),
            ContextElem::Opaque(store_path),
        ))),
    )
    .add("narHash", Value::str(nar_hash.to_sri()))
    .add("submodules", Value::Bool(req.submodules))
    .add("shortRev", Value::str(&rev[..7]))
    .add("rev", Value::str(rev))
    .add("revCount", Value::Int(rev_count))
    .add("lastModified", Value::Int(last_modified))
    .add("lastModifiedDate", Value::str(utc_stamp(last_modified)));
    Ok(b.build())
}

/// What Nix's filter keeps of the working tree at `root` when it copies the `tracked` paths:
/// each directory on the way to a tracked path (a real directory, not a symlink), and each
/// tracked path that exists and is not a directory; and the `empty_dirs` that are
/// directories, without their contents.
fn present(
    io: &dyn EvalIo,
    root: &str,
    tracked: &BTreeSet<String>,
    empty_dirs: &BTreeSet<String>,
) -> std::result::Result<BTreeSet<String>, IoError> {
    let mut kept = BTreeSet::new();
    let mut is_dir: HashMap<String, bool> = HashMap::new();
    let lstat = |rel: &str| match io.file_type(&format!("{root}/{rel}"), false) {
        Ok(t) => Ok(Some(t)),
        Err(IoError::NotFound(_) | IoError::NotADirectory(_)) => Ok(None),
        Err(e) => Err(e),
    };
    'paths: for path in tracked.iter().chain(empty_dirs) {
        for (i, _) in path.match_indices('/') {
            let dir = &path[..i];
            let ok = match is_dir.get(dir) {
                Some(&ok) => ok,
                None => {
                    let ok = lstat(dir)? == Some(FileType::Directory);
                    is_dir.insert(dir.to_owned(), ok);
                    ok
                }
            };
            if !ok {
                continue 'paths;
            }
            kept.insert(dir.to_owned());
        }
        match lstat(path)? {
            Some(FileType::Directory) if empty_dirs.contains(path) => {
                kept.insert(path.clone());
            }
            Some(FileType::Directory) | None => {}
            Some(_) => {
                kept.insert(path.clone());
            }
        }
    }
    Ok(kept)
}

/// `%Y%m%d%H%M%S` of a Unix time, in UTC (`lastModifiedDate`).
fn utc_stamp(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::utc_stamp;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc_stamp(0), "19700101000000");
        // `date -u -d @1700000000 +%Y%m%d%H%M%S`
        assert_eq!(utc_stamp(1_700_000_000), "20231114221320");
        assert_eq!(utc_stamp(951_782_400), "20000229000000");
    }
}
