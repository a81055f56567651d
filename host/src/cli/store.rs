//! `evalbox store ...`: direct store operations, spelled like their `nix-store` / `nix`
//! counterparts so their outputs can be compared with real Nix.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use evalbox_store::local::GcOptions;
use evalbox_store::{AddSource, NixStore};
use nix_formats::derivation::Derivation;
use nix_formats::{FileIngestionMethod, HashAlgo, StorePath};

use super::Globals;

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Add files or trees, addressed by their recursive SHA-256 (like `nix-store --add`).
    Add {
        /// Name of the store path (default: the file's name).
        #[arg(long)]
        name: Option<String>,
        /// Hash the file's contents rather than its NAR (like `nix-store --add-fixed sha256`).
        #[arg(long)]
        flat: bool,
        /// Files or directories to add.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Add fixed-output paths (like `nix-store --add-fixed [--recursive] ALGO`).
    AddFixed {
        /// Hash the NAR serialisation instead of the file's contents.
        #[arg(long, short = 'r')]
        recursive: bool,
        /// Hash algorithm: md5, sha1, sha256 or sha512.
        algo: String,
        /// Files or directories to add.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Add a text file addressed as `text:sha256` (like `builtins.toFile`).
    AddText {
        /// Name of the store path.
        #[arg(long)]
        name: String,
        /// Store paths the text refers to (must be valid).
        #[arg(long = "reference", value_name = "PATH")]
        references: Vec<String>,
        /// File holding the text (`-` for stdin).
        file: PathBuf,
    },
    /// Unpack a NAR (validated strictly) into the store as a recursive SHA-256 path.
    AddNar {
        /// Name of the store path.
        #[arg(long)]
        name: String,
        /// The NAR file (`-` for stdin).
        file: PathBuf,
    },
    /// Write an ATerm `.drv` file into the store, after checking its output paths.
    AddDerivation {
        /// The `.drv` file.
        file: PathBuf,
    },
    /// Show metadata of valid paths (`--json` like `nix path-info --json`).
    PathInfo {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Store paths.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Write the NAR serialisation of a store path to stdout (like `nix-store --dump`).
    Dump {
        /// Store path.
        path: String,
    },
    /// Print a regular file inside the store (like `nix store cat`).
    Cat {
        /// A store path, or a path inside one.
        path: String,
    },
    /// Build derivations and print their output paths (like `nix-store --realise`).
    Realise {
        /// A build setting, as Nix spells it (`sandbox`, `sandbox-paths`, `extra-sandbox-paths`,
        /// `cores`, `max-jobs`, `keep-failed`, `timeout`, `max-silent-time`); repeatable.
        #[arg(long = "option", num_args = 2, value_names = ["NAME", "VALUE"])]
        option: Vec<String>,
        /// `.drv` store paths (`drv!out` builds one output).
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Print derivations as JSON (like `nix show-derivation`).
    ShowDerivation {
        /// `.drv` store paths.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// List the valid paths that refer to a path (like `nix-store -q --referrers`).
    Referrers {
        /// Store path.
        path: String,
    },
    /// Check the embedded store: every registered path exists; with --check-contents, its
    /// NAR hash matches. Exits 1 if a problem is found.
    Verify {
        /// Re-hash every path's contents.
        #[arg(long)]
        check_contents: bool,
    },
    /// Delete the embedded store's unreachable paths (like `nix-store --gc`): everything not
    /// reachable from a GC root (`gcroots/`, indirect roots made by `--add-root`, `profiles/`,
    /// running processes' temporary roots).
    Gc {
        /// Only print the dead paths (like `nix-store --gc --print-dead`).
        #[arg(long, alias = "print-dead")]
        dry_run: bool,
        /// Stop after freeing this many bytes.
        #[arg(long, value_name = "BYTES")]
        max_freed: Option<u64>,
        /// `keep-derivations` / `keep-outputs`, as Nix spells them (defaults true / false).
        #[arg(long = "option", num_args = 2, value_names = ["NAME", "VALUE"])]
        option: Vec<String>,
    },
    /// Delete paths of the embedded store, refusing any that is still alive or referred to
    /// (like `nix-store --delete`).
    Delete {
        /// Store paths.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Print the embedded store's GC roots, `LINK -> PATH` (like `nix-store --gc --print-roots`).
    Roots,
    /// Copy paths and their closures between stores (like `nix copy --to / --from`): from
    /// this store to `--to URI`, or from `--from URI` to this store, skipping what the
    /// destination has. Signatures are not checked (a nix-daemon allows that to trusted users).
    Copy {
        /// The destination store.
        #[arg(
            long,
            value_name = "URI",
            conflicts_with = "from",
            required_unless_present = "from"
        )]
        to: Option<String>,
        /// The source store.
        #[arg(long, value_name = "URI")]
        from: Option<String>,
        /// Store paths.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Print the closure of paths under references, dependencies first (like
    /// `nix-store -qR`).
    Closure {
        /// Store paths.
        #[arg(required = true)]
        paths: Vec<String>,
    },
}

pub fn run(globals: &Globals, cmd: StoreCommand) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(run_async(globals, cmd))
}

async fn run_async(globals: &Globals, cmd: StoreCommand) -> anyhow::Result<ExitCode> {
    let settings = match &cmd {
        StoreCommand::Realise { option, .. } => {
            Some(super::logged_build_settings(&super::option_pairs(option))?)
        }
        _ => None,
    };
    let store = evalbox::open_store_with(globals.store.as_deref(), settings.as_ref()).await?;
    let store = store.as_ref();
    if let StoreCommand::Realise { paths, .. } = &cmd {
        let mut targets = Vec::new();
        for p in paths {
            let (drv, output) = match p.split_once('!') {
                Some((d, o)) => (d, [o.to_owned()].into()),
                None => (p.as_str(), Default::default()),
            };
            targets.push(evalbox::store::BuildTarget {
                drv_path: parse_store_path(store, drv)?,
                outputs: output,
            });
        }
        let (code, _) = super::build_and_print(store, &targets, |r, _| {
            r.outputs.values().cloned().collect()
        })
        .await?;
        return Ok(code);
    }
    let mut out = std::io::stdout();
    match cmd {
        StoreCommand::Add { name, flat, paths } => {
            if name.is_some() && paths.len() > 1 {
                bail!("--name can only be used with one path");
            }
            let method = if flat {
                FileIngestionMethod::Flat
            } else {
                FileIngestionMethod::Recursive
            };
            for p in &paths {
                let path = add_path(store, p, name.as_deref(), method, HashAlgo::Sha256).await?;
                writeln!(out, "{}", store.store_dir().display(&path))?;
            }
        }
        StoreCommand::AddFixed {
            recursive,
            algo,
            paths,
        } => {
            let algo: HashAlgo = algo
                .parse()
                .with_context(|| format!("unknown hash algorithm '{algo}'"))?;
            let method = if recursive {
                FileIngestionMethod::Recursive
            } else {
                FileIngestionMethod::Flat
            };
            for p in &paths {
                let path = add_path(store, p, None, method, algo).await?;
                writeln!(out, "{}", store.store_dir().display(&path))?;
            }
        }
        StoreCommand::AddText {
            name,
            references,
            file,
        } => {
            let text = read_input(&file)?;
            let refs = references
                .iter()
                .map(|r| parse_store_path(store, r))
                .collect::<anyhow::Result<BTreeSet<_>>>()?;
            let path = store.add_text_to_store(&name, &text, &refs).await?;
            writeln!(out, "{}", store.store_dir().display(&path))?;
        }
        StoreCommand::AddNar { name, file } => {
            let reader: Box<dyn std::io::Read + Send> = if file.as_os_str() == "-" {
                Box::new(std::io::stdin())
            } else {
                Box::new(std::fs::File::open(&file).with_context(|| format!("{}", file.display()))?)
            };
            let info = store
                .add_to_store(
                    &name,
                    AddSource::Nar(reader),
                    FileIngestionMethod::Recursive,
                    HashAlgo::Sha256,
                    &BTreeSet::new(),
                )
                .await?;
            writeln!(out, "{}", store.store_dir().display(&info.path))?;
        }
        StoreCommand::AddDerivation { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let drv = Derivation::from_aterm_bytes(&bytes, store.store_dir())
                .with_context(|| format!("{}: not a derivation", file.display()))?;
            let name = drv_name(&file)?;
            let path = store.add_derivation(&drv, &name).await?;
            writeln!(out, "{}", store.store_dir().display(&path))?;
        }
        StoreCommand::PathInfo { json, paths } => {
            // Like `nix path-info`: a set of paths, printed in order.
            let mut set = std::collections::BTreeMap::new();
            for p in &paths {
                set.insert(parse_store_path(store, p)?, p);
            }
            let mut infos = Vec::new();
            for (sp, p) in set {
                let info = store
                    .query_path_info(&sp)
                    .await?
                    .with_context(|| format!("path '{p}' is not valid"))?;
                infos.push(info);
            }
            if json {
                let arr: Vec<_> = infos.iter().map(|i| i.to_json(store.store_dir())).collect();
                writeln!(out, "{}", serde_json::Value::Array(arr))?;
            } else {
                for i in &infos {
                    writeln!(out, "{}", store.store_dir().display(&i.path))?;
                }
            }
        }
        StoreCommand::Dump { path } => {
            let sp = parse_store_path(store, &path)?;
            store.nar_from_path(&sp, &mut out).await?;
            out.flush()?;
        }
        StoreCommand::Cat { path } => {
            let (sp, rest) = store
                .store_dir()
                .parse_prefix(&path)
                .with_context(|| format!("'{path}' is not in the store"))?;
            let mut nar = Vec::new();
            store.nar_from_path(&sp, &mut nar).await?;
            let contents = file_in_nar(&nar, rest).with_context(|| format!("'{path}'"))?;
            out.write_all(&contents)?;
            out.flush()?;
        }
        StoreCommand::Realise { .. } => unreachable!("handled above"),
        StoreCommand::ShowDerivation { paths } => {
            let mut all = serde_json::Map::new();
            for p in &paths {
                let sp = parse_store_path(store, p)?;
                let drv = store.read_derivation(&sp).await?;
                let shown: serde_json::Value =
                    serde_json::from_str(&drv.to_show_json(&sp, store.store_dir()))?;
                if let serde_json::Value::Object(m) = shown {
                    all.extend(m);
                }
            }
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&serde_json::Value::Object(all))?
            )?;
        }
        StoreCommand::Referrers { path } => {
            let sp = parse_store_path(store, &path)?;
            if !store.is_valid_path(&sp).await? {
                bail!("path '{path}' is not valid");
            }
            for r in store.query_referrers(&sp).await? {
                writeln!(out, "{}", store.store_dir().display(&r))?;
            }
        }
        StoreCommand::Verify { check_contents } => {
            let local = embedded(store, "verify")?;
            let report = local.verify(check_contents).await?;
            for p in &report.problems {
                eprintln!("error: {p}");
            }
            if !report.problems.is_empty() {
                eprintln!(
                    "{} problem(s) in {} path(s)",
                    report.problems.len(),
                    report.checked
                );
                return Ok(ExitCode::FAILURE);
            }
            eprintln!("checked {} path(s): ok", report.checked);
        }
        StoreCommand::Gc {
            dry_run,
            max_freed,
            option,
        } => {
            let local = embedded(store, "gc")?;
            let mut opts = GcOptions {
                dry_run,
                max_freed,
                ..GcOptions::default()
            };
            for pair in option.chunks(2) {
                let value = match pair[1].as_str() {
                    "true" => true,
                    "false" => false,
                    v => bail!("option '{}': '{v}' is not a Boolean", pair[0]),
                };
                match pair[0].as_str() {
                    "keep-derivations" => opts.keep_derivations = value,
                    "keep-outputs" => opts.keep_outputs = value,
                    other => bail!("unknown garbage-collector option '{other}'"),
                }
            }
            let report = local.collect_garbage(opts).await?;
            let dir = store.store_dir();
            if dry_run {
                for p in &report.dead {
                    writeln!(out, "{}", dir.display(p))?;
                }
            } else {
                for p in &report.deleted {
                    eprintln!("deleting '{}'", dir.display(p));
                }
                eprintln!(
                    "{} store paths deleted, {:.2} MiB freed",
                    report.deleted.len(),
                    report.bytes_freed as f64 / (1024.0 * 1024.0)
                );
            }
        }
        StoreCommand::Delete { paths } => {
            let local = embedded(store, "delete")?;
            let mut parsed = Vec::new();
            for p in &paths {
                parsed.push(parse_store_path(store, p)?);
            }
            let deleted = local.delete_paths(parsed).await?;
            for p in &deleted {
                eprintln!("deleting '{}'", store.store_dir().display(p));
            }
            eprintln!("{} store paths deleted", deleted.len());
        }
        StoreCommand::Copy { to, from, paths } => {
            let other = evalbox::open_store_with(to.as_deref().or(from.as_deref()), None).await?;
            let (src, dst): (&dyn NixStore, &dyn NixStore) = if to.is_some() {
                (store, other.as_ref())
            } else {
                (other.as_ref(), store)
            };
            let mut wanted = Vec::new();
            for p in &paths {
                wanted.push(parse_store_path(src, p)?);
            }
            let copied = super::copy_closure(src, dst, &wanted).await?;
            eprintln!("copied {copied} path(s)");
        }
        StoreCommand::Closure { paths } => {
            let mut wanted = Vec::new();
            for p in &paths {
                wanted.push(parse_store_path(store, p)?);
            }
            for info in super::closure(store, &wanted).await? {
                writeln!(out, "{}", store.store_dir().display(&info.path))?;
            }
        }
        StoreCommand::Roots => {
            let local = embedded(store, "roots")?;
            let dir = store.store_dir();
            for (path, links) in local.roots().await? {
                for link in links {
                    writeln!(out, "{link} -> {}", dir.display(&path))?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The embedded store behind `store`, for operations only it has.
fn embedded<'a>(
    store: &'a dyn NixStore,
    what: &str,
) -> anyhow::Result<&'a evalbox_store::local::LocalStore> {
    store
        .as_any()
        .downcast_ref::<evalbox_store::local::LocalStore>()
        .with_context(|| {
            format!("`store {what}` works on the embedded store only; a nix-daemon collects its own store (nix-store --gc)")
        })
}

async fn add_path(
    store: &dyn NixStore,
    path: &Path,
    name: Option<&str>,
    method: FileIngestionMethod,
    algo: HashAlgo,
) -> anyhow::Result<StorePath> {
    std::fs::symlink_metadata(path).with_context(|| format!("{}", path.display()))?;
    let name = match name {
        Some(n) => n.to_string(),
        None => base_name(path)?,
    };
    let source = AddSource::Tree {
        root: evalbox_store::TreeRoot::host(path)?,
        filter: None,
    };
    let info = store
        .add_to_store(&name, source, method, algo, &BTreeSet::new())
        .await?;
    Ok(info.path)
}

fn read_input(file: &Path) -> anyhow::Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).context("reading stdin")?;
        Ok(buf)
    } else {
        std::fs::read(file).with_context(|| format!("{}", file.display()))
    }
}

fn base_name(path: &Path) -> anyhow::Result<String> {
    let abs = std::path::absolute(path)?;
    let name = abs
        .file_name()
        .with_context(|| format!("{}: has no file name", path.display()))?;
    name.to_str()
        .map(str::to_string)
        .with_context(|| format!("{}: file name is not UTF-8", path.display()))
}

fn drv_name(file: &Path) -> anyhow::Result<String> {
    let base = base_name(file)?;
    let base = base
        .strip_suffix(".drv")
        .with_context(|| format!("{}: a derivation file name ends in .drv", file.display()))?;
    // A file copied out of a store keeps its hash part: strip it.
    Ok(match StorePath::from_base_name(&format!("{base}.drv")) {
        Ok(sp) => sp.name().trim_end_matches(".drv").to_string(),
        Err(_) => base.to_string(),
    })
}

fn parse_store_path(store: &dyn NixStore, p: &str) -> anyhow::Result<StorePath> {
    store
        .store_dir()
        .parse(p.trim_end_matches('/'))
        .with_context(|| format!("'{p}' is not a store path"))
}

/// The contents of the regular file at `rest` (`""` or `/a/b`) inside a NAR.
fn file_in_nar(nar: &[u8], rest: &str) -> anyhow::Result<Vec<u8>> {
    use nix_formats::nar::reader::{Event, NarReader};
    let want: Vec<&[u8]> = rest
        .split('/')
        .filter(|c| !c.is_empty())
        .map(str::as_bytes)
        .collect();
    let mut reader = NarReader::new(nar);
    // Path of the node the next event describes, as components.
    let mut stack: Vec<Vec<u8>> = Vec::new();
    while let Some(ev) = reader.next_event()? {
        let here: Vec<&[u8]> = stack.iter().map(Vec::as_slice).collect();
        match ev {
            Event::File { .. } if here == want => {
                let mut buf = Vec::new();
                std::io::Read::read_to_end(&mut reader.contents(), &mut buf)?;
                return Ok(buf);
            }
            Event::Symlink(_) if here == want => bail!("is a symlink, not a regular file"),
            Event::DirStart if here == want => bail!("is a directory, not a regular file"),
            Event::File { .. } | Event::Symlink(_) => {
                stack.pop();
            }
            Event::DirStart => {}
            Event::Entry(name) => stack.push(name),
            Event::DirEnd => {
                stack.pop();
            }
        }
    }
    bail!("no such file")
}
