//! `nix-instantiate`'s command line, as pure code: the one grammar that both the evalbox host
//! (`evalbox eval`, which decides from it what the sandbox may read) and the `nix-eval` guest
//! (which evaluates what it asks) parse, so they can never disagree about which word is a
//! flag's value and which a file. Also the search path (`-I`, `NIX_PATH`) and Nix's lexical
//! path canonicalisation, which both sides need.
//!
//! ```
//! use nix_args::{Command, SearchPathEntry};
//! let argv: Vec<String> = ["--eval", "--strict", "f.nix", "-A", "x", "-I", "nixpkgs=/p"]
//!     .map(String::from)
//!     .to_vec();
//! let cmd = Command::parse(&argv).unwrap();
//! assert!(cmd.eval && cmd.strict);
//! assert_eq!(cmd.inputs, ["f.nix"]);
//! assert_eq!(cmd.attrs, ["x"]);
//! assert_eq!(cmd.search_path, [SearchPathEntry::parse("nixpkgs=/p")]);
//! ```

/// How many values a flag takes.
///
/// Every flag of the grammar: `--eval`/`--parse` (mode), `--strict`, `--json`, `--xml`,
/// `--no-location`, `--show-trace`, `--no-show-trace`, `-E`/`--expr`, `--impure`,
/// `--pure-eval`, `--read-write-mode`, `--readonly-mode` and `--no-ifd` (evalbox's short
/// `--option allow-import-from-derivation false`) take none; `-A`/`--attr`,
/// `-I`/`--include`, `--nix-path`, `--env K=V`, `--system`, `--current-time`,
/// `--max-call-depth`, `--extra-experimental-features`, `--experimental-features` and every
/// `--lint-NAME LEVEL` take one; `--arg`, `--argstr` and `--option` take two. Anything else
/// starting with `-` (but `-` itself, standard input) is unknown.
///
/// Nix's common flags are part of the grammar too: the build settings `--timeout`,
/// `--max-silent-time`, `-j`/`--max-jobs`, `--cores` (one value each), `-K`/`--keep-failed`,
/// `--sandbox`, `--no-sandbox` (none) become `--option`s; `--add-root PATH` (one) names a GC
/// root; `--eval-only` is `--eval`; and the flags that only change what Nix logs or that have
/// no effect on an evaluation (`-v`/`--verbose` and `-vv…`, `--quiet`, `-Q`/`--no-build-output`,
/// `-k`/`--keep-going`, `--fallback`, `--no-gc-warning`, `--indirect`, `--log-format FORMAT`)
/// are accepted and ignored.
pub fn arity(flag: &str) -> Option<usize> {
    Some(match flag {
        "--eval" | "--eval-only" | "--parse" | "--strict" | "--json" | "--xml"
        | "--no-location" | "--show-trace" | "--no-show-trace" | "-E" | "--expr" | "--impure"
        | "--pure-eval" | "--read-write-mode" | "--readonly-mode" | "--no-ifd" => 0,
        "--eval-jobs" | "--meta" | "--force-recurse" | "--value-json" => 0,
        "-K" | "--keep-failed" | "--sandbox" | "--no-sandbox" | "--verbose" | "--quiet" | "-Q"
        | "--no-build-output" | "-k" | "--keep-going" | "--fallback" | "--no-gc-warning"
        | "--indirect" => 0,
        _ if flag.len() > 1 && flag.starts_with('-') && flag[1..].bytes().all(|b| b == b'v') => 0,
        "--timeout" | "--max-silent-time" | "-j" | "--max-jobs" | "--cores" | "--add-root"
        | "--log-format" => 1,
        "-A"
        | "--attr"
        | "-I"
        | "--include"
        | "--nix-path"
        | "--env"
        | "--system"
        | "--current-time"
        | "--max-call-depth"
        | "--extra-experimental-features"
        | "--experimental-features" => 1,
        "--arg" | "--argstr" | "--option" => 2,
        _ if flag.starts_with("--lint-") => 1,
        _ => return None,
    })
}

/// A command-line error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A flag needs more values than follow it.
    #[error("flag '{flag}' requires {arity} argument{}", if *.arity == 1 { "" } else { "s" })]
    MissingValue {
        /// The flag.
        flag: String,
        /// How many values it takes.
        arity: usize,
    },
    /// An unknown flag.
    #[error("unrecognised flag '{0}'")]
    UnknownFlag(String),
    /// A flag's value is not of the right kind.
    #[error("invalid value '{1}' for '{0}'")]
    BadValue(String, String),
    /// An `-A` path with a `"` that is not closed.
    #[error("missing closing quote in selection path '{0}'")]
    UnclosedQuote(String),
}

/// Splits an `-A` attribute path at its dots, as Nix does: a part in double quotes may hold
/// dots (`services.nginx.virtualHosts."example.com"`); the quotes are removed; an empty last
/// part is dropped, so `""` is the empty path.
pub fn parse_attr_path(path: &str) -> Result<Vec<String>, Error> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => parts.push(std::mem::take(&mut cur)),
            '"' => loop {
                match chars.next() {
                    None => return Err(Error::UnclosedQuote(path.to_owned())),
                    Some('"') => break,
                    Some(c) => cur.push(c),
                }
            },
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    Ok(parts)
}

/// One `--arg`/`--argstr`: a name and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoArg {
    /// The argument's name.
    pub name: String,
    /// Its value.
    pub value: AutoArgValue,
}

/// The value of an automatic argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoArgValue {
    /// `--arg NAME EXPR`: a Nix expression.
    Expr(String),
    /// `--argstr NAME STRING`: a string.
    Str(String),
}

/// One entry of the search path: `PATH` or `PREFIX=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPathEntry {
    /// The prefix `<PREFIX/...>` must start with; `None` matches any name.
    pub prefix: Option<String>,
    /// A path (relative paths are resolved with [`SearchPathEntry::resolve`]) or a URL.
    pub path: String,
}

impl SearchPathEntry {
    /// Parses `PATH` or `PREFIX=PATH`.
    pub fn parse(entry: &str) -> SearchPathEntry {
        match entry.split_once('=') {
            Some((prefix, path)) => SearchPathEntry {
                prefix: Some(prefix.to_owned()),
                path: path.to_owned(),
            },
            None => SearchPathEntry {
                prefix: None,
                path: entry.to_owned(),
            },
        }
    }

    /// Whether the path is a URL (`https://…`): not something a sandbox can open.
    pub fn is_url(&self) -> bool {
        self.path.contains("://")
    }

    /// The entry with a relative path made absolute against `cwd` and canonicalised (URLs are
    /// left as they are).
    pub fn resolve(&self, cwd: &str) -> SearchPathEntry {
        let path = if self.is_url() || self.path.starts_with('/') {
            self.path.clone()
        } else {
            canon_path(&format!("{cwd}/{}", self.path))
        };
        SearchPathEntry {
            prefix: self.prefix.clone(),
            path,
        }
    }
}

/// Parses a search path as `NIX_PATH` and `--nix-path` spell it: entries separated by `:`.
pub fn parse_search_path(s: &str) -> Vec<SearchPathEntry> {
    s.split(':')
        .filter(|e| !e.is_empty())
        .map(SearchPathEntry::parse)
        .collect()
}

/// Lexically canonicalises an absolute path as Nix does: drops `.`, resolves `..`, collapses
/// slashes; symlinks are not resolved.
///
/// ```
/// assert_eq!(nix_args::canon_path("/a/./b/../c//d"), "/a/c/d");
/// assert_eq!(nix_args::canon_path("/.."), "/");
/// ```
pub fn canon_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    if out.is_empty() {
        return "/".into();
    }
    let mut s = String::with_capacity(p.len());
    for seg in out {
        s.push('/');
        s.push_str(seg);
    }
    s
}

/// A parsed `nix-instantiate` command line (without the program name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    /// `--eval`.
    pub eval: bool,
    /// `--parse`.
    pub parse: bool,
    /// `--strict`.
    pub strict: bool,
    /// `--json`.
    pub json: bool,
    /// `--xml`.
    pub xml: bool,
    /// `--no-location`.
    pub no_location: bool,
    /// `--show-trace` (the last of `--show-trace`/`--no-show-trace` wins).
    pub show_trace: bool,
    /// `-E`/`--expr`: the inputs are expressions, not files.
    pub expr: bool,
    /// Files (`-` for standard input) or, with `-E`, expressions.
    pub inputs: Vec<String>,
    /// `-A` attribute paths.
    pub attrs: Vec<String>,
    /// `--arg` and `--argstr`, in order.
    pub auto_args: Vec<AutoArg>,
    /// The search path: every `-I` entry, then every `--nix-path` entry, in order.
    pub search_path: Vec<SearchPathEntry>,
    /// `--env K=V`: the variables `builtins.getEnv` sees (a `K` without `=` is empty).
    pub env: Vec<(String, String)>,
    /// `--system`.
    pub system: Option<String>,
    /// `--current-time`.
    pub current_time: Option<i64>,
    /// `--max-call-depth`, or `--option max-call-depth N`.
    pub max_call_depth: Option<usize>,
    /// `--extra-experimental-features` and `--experimental-features`, split at spaces.
    pub experimental: Vec<String>,
    /// `--lint-NAME LEVEL`, as `(NAME, LEVEL)`.
    pub lints: Vec<(String, String)>,
    /// `--option NAME VALUE`, in order.
    pub options: Vec<(String, String)>,
    /// `Some(true)` for `--readonly-mode` (compute store paths without writing anything),
    /// `Some(false)` for `--read-write-mode`, the last one winning; `None` when neither is
    /// given (evalbox writes; `nix-instantiate --eval` would not).
    pub readonly_mode: Option<bool>,
    /// `--option abort-on-warn true` (current Nix): `builtins.warn` prints its warning, then
    /// fails the evaluation, so that a trace shows where the warning came from.
    pub abort_on_warn: bool,
    /// `--add-root PATH`: make `PATH` a GC root pointing at the result (instantiation only).
    pub add_root: Option<String>,
    /// `--no-ifd`, or `--option allow-import-from-derivation false`: reading a derivation's
    /// output during evaluation is an error instead of building it (Nix builds by default).
    pub no_ifd: bool,
    /// evalbox's own `--eval-jobs`: the worker side of `evalbox eval-jobs`. The expression is
    /// evaluated (and called with the auto arguments), then each line of standard input, a
    /// JSON list of attribute names, is answered with one JSON line on standard output: the
    /// job found there, the attributes to visit below it, or the error.
    pub eval_jobs: bool,
    /// `--meta` (with `--eval-jobs`): jobs carry their `meta` attributes, as JSON.
    pub meta: bool,
    /// `--force-recurse` (with `--eval-jobs`): visit every set, not only those with
    /// `recurseForDerivations = true`.
    pub force_recurse: bool,
    /// evalbox's own `--value-json` (with `--eval`): the value as the `evalbox:guest/nix`
    /// interface returns it, two lines of JSON: the context of its strings, a list in Nix's
    /// encoding (`/nix/store/…`, `=….drv`, `!out!….drv`), then the value, deeply evaluated,
    /// each derivation in it written to the store and shown as `{"type": "derivation",
    /// "drvPath", "name", "system", "outputs"}`.
    pub value_json: bool,
}

impl Command {
    /// Parses `argv` (without the program name).
    pub fn parse(argv: &[String]) -> Result<Command, Error> {
        let mut c = Command::default();
        let mut include = Vec::new();
        let mut nix_path = Vec::new();
        let mut i = 0;
        while i < argv.len() {
            let flag = argv[i].as_str();
            let Some(arity) = arity(flag) else {
                if flag.starts_with('-') && flag != "-" {
                    return Err(Error::UnknownFlag(flag.to_owned()));
                }
                c.inputs.push(flag.to_owned());
                i += 1;
                continue;
            };
            let values = argv
                .get(i + 1..i + 1 + arity)
                .ok_or_else(|| Error::MissingValue {
                    flag: flag.to_owned(),
                    arity,
                })?;
            let value = |n: usize| values[n].clone();
            let number = |v: &str| Error::BadValue(flag.to_owned(), v.to_owned());
            let setting = |name: &str, value: String| (name.to_owned(), value);
            match flag {
                "--eval" | "--eval-only" => c.eval = true,
                "--timeout" | "--max-silent-time" | "--cores" => {
                    c.options.push(setting(&flag[2..], value(0)))
                }
                "-j" | "--max-jobs" => c.options.push(setting("max-jobs", value(0))),
                "-K" | "--keep-failed" => c.options.push(setting("keep-failed", "true".into())),
                "--sandbox" => c.options.push(setting("sandbox", "true".into())),
                "--no-sandbox" => c.options.push(setting("sandbox", "false".into())),
                "--add-root" => c.add_root = Some(value(0)),
                "--parse" => c.parse = true,
                "--strict" => c.strict = true,
                "--json" => c.json = true,
                "--xml" => c.xml = true,
                "--no-location" => c.no_location = true,
                "--show-trace" => c.show_trace = true,
                "--no-show-trace" => c.show_trace = false,
                "-E" | "--expr" => c.expr = true,
                "--readonly-mode" => c.readonly_mode = Some(true),
                "--no-ifd" => c.no_ifd = true,
                "--read-write-mode" => c.readonly_mode = Some(false),
                "--eval-jobs" => c.eval_jobs = true,
                "--meta" => c.meta = true,
                "--force-recurse" => c.force_recurse = true,
                "--value-json" => c.value_json = true,
                "-A" | "--attr" => c.attrs.push(value(0)),
                "--arg" => c.auto_args.push(AutoArg {
                    name: value(0),
                    value: AutoArgValue::Expr(value(1)),
                }),
                "--argstr" => c.auto_args.push(AutoArg {
                    name: value(0),
                    value: AutoArgValue::Str(value(1)),
                }),
                "-I" | "--include" => include.push(SearchPathEntry::parse(&values[0])),
                "--nix-path" => nix_path.extend(parse_search_path(&values[0])),
                "--env" => c.env.push(match values[0].split_once('=') {
                    Some((k, v)) => (k.to_owned(), v.to_owned()),
                    None => (value(0), String::new()),
                }),
                "--system" => c.system = Some(value(0)),
                "--current-time" => {
                    c.current_time = Some(values[0].parse().map_err(|_| number(&values[0]))?)
                }
                "--max-call-depth" => {
                    c.max_call_depth = Some(values[0].parse().map_err(|_| number(&values[0]))?)
                }
                "--extra-experimental-features" | "--experimental-features" => c
                    .experimental
                    .extend(values[0].split_whitespace().map(str::to_owned)),
                "--option" => {
                    if values[0] == "allow-import-from-derivation" {
                        c.no_ifd = match values[1].as_str() {
                            "true" => false,
                            "false" => true,
                            _ => return Err(Error::BadValue(value(0), value(1))),
                        };
                    }
                    if values[0] == "abort-on-warn" {
                        c.abort_on_warn = match values[1].as_str() {
                            "true" => true,
                            "false" => false,
                            _ => return Err(Error::BadValue(value(0), value(1))),
                        };
                    }
                    if values[0] == "max-call-depth" {
                        c.max_call_depth = Some(
                            values[1]
                                .parse()
                                .map_err(|_| Error::BadValue(value(0), value(1)))?,
                        );
                    }
                    c.options.push((value(0), value(1)));
                }
                _ if flag.starts_with("--lint-") => c
                    .lints
                    .push((flag.trim_start_matches("--lint-").to_owned(), value(0))),
                // Accepted for compatibility; evaluation in evalbox is always pure.
                _ => {}
            }
            i += 1 + arity;
        }
        c.search_path = include;
        c.search_path.extend(nix_path);
        Ok(c)
    }

    /// What to evaluate, as `nix-instantiate` decides: standard input alone when an input
    /// is `-`; else each input, an expression with `-E` or a file; else `./default.nix`
    /// (with `-E` and no expression, nothing).
    pub fn sources(&self) -> Vec<Source> {
        if self.inputs.iter().any(|i| i == "-") {
            vec![Source::Stdin]
        } else if self.expr {
            self.inputs.iter().cloned().map(Source::Expr).collect()
        } else if self.inputs.is_empty() {
            vec![Source::File("./default.nix".to_owned())]
        } else {
            self.inputs.iter().cloned().map(Source::File).collect()
        }
    }
}

/// One thing to evaluate (see [`Command::sources`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Standard input.
    Stdin,
    /// A file (or a directory's `default.nix`), relative to the working directory.
    File(String),
    /// An `-E` expression.
    Expr(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_suites_flags() {
        let c = Command::parse(&argv(&[
            "--eval",
            "--strict",
            "-I",
            "lang/dir1",
            "-I",
            "dir5=lang/dir3",
            "--nix-path",
            "a:b=c",
            "--arg",
            "x",
            "1",
            "--argstr",
            "y",
            "s",
            "-A",
            "r",
            "--max-call-depth",
            "100",
            "--lint-url-literals",
            "fatal",
            "--impure",
            "--extra-experimental-features",
            "f g",
            "--env",
            "K=V",
            "f.nix",
        ]))
        .unwrap();
        assert!(c.eval && c.strict && !c.parse);
        let resolved: Vec<SearchPathEntry> =
            c.search_path.iter().map(|e| e.resolve("/cwd")).collect();
        assert_eq!(
            resolved,
            [
                SearchPathEntry::parse("/cwd/lang/dir1"),
                SearchPathEntry::parse("dir5=/cwd/lang/dir3"),
                SearchPathEntry::parse("/cwd/a"),
                SearchPathEntry::parse("b=/cwd/c"),
            ]
        );
        assert_eq!(c.auto_args.len(), 2);
        assert_eq!(c.max_call_depth, Some(100));
        assert_eq!(c.env, [("K".to_owned(), "V".to_owned())]);
        assert_eq!(c.experimental, ["f", "g"]);
        assert_eq!(c.lints, [("url-literals".to_owned(), "fatal".to_owned())]);
        assert_eq!(c.sources(), [Source::File("f.nix".into())]);
    }

    #[test]
    fn a_flags_value_is_never_an_input() {
        let c = Command::parse(&argv(&[
            "--argstr",
            "x",
            "y.nix",
            "--lint-url-literals",
            "warn",
        ]))
        .unwrap();
        assert!(c.inputs.is_empty());
        assert_eq!(c.sources(), [Source::File("./default.nix".into())]);
        let c = Command::parse(&argv(&["-E", "1 + 1", "-"])).unwrap();
        assert_eq!(c.sources(), [Source::Stdin]);
        let c = Command::parse(&argv(&["-E", "1 + 1", "-E", "2"])).unwrap();
        assert_eq!(
            c.sources(),
            [Source::Expr("1 + 1".into()), Source::Expr("2".into())]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            Command::parse(&argv(&["--bogus"])),
            Err(Error::UnknownFlag("--bogus".into()))
        );
        assert_eq!(
            Command::parse(&argv(&["--arg", "x"]))
                .unwrap_err()
                .to_string(),
            "flag '--arg' requires 2 arguments"
        );
        assert_eq!(
            Command::parse(&argv(&["-A"])).unwrap_err().to_string(),
            "flag '-A' requires 1 argument"
        );
        assert!(matches!(
            Command::parse(&argv(&["--max-call-depth", "x"])),
            Err(Error::BadValue(..))
        ));
        assert_eq!(arity("--lint-short-path-literals"), Some(1));
        assert_eq!(arity("--src"), None);
    }

    #[test]
    fn attr_paths() {
        let p = |s: &str| parse_attr_path(s).unwrap();
        assert_eq!(p(""), Vec::<String>::new());
        assert_eq!(p("a.b.0"), ["a", "b", "0"]);
        assert_eq!(
            p(r#"services.nginx.virtualHosts."example.com".ssl"#),
            ["services", "nginx", "virtualHosts", "example.com", "ssl"]
        );
        assert_eq!(p(".a."), ["", "a"]);
        assert_eq!(
            parse_attr_path(r#"a."b"#),
            Err(Error::UnclosedQuote(r#"a."b"#.into()))
        );
    }

    #[test]
    fn nix_common_flags() {
        let c = Command::parse(&argv(&[
            "--eval-only",
            "--timeout",
            "1",
            "-j",
            "2",
            "-K",
            "--no-sandbox",
            "-vvv",
            "--quiet",
            "--log-format",
            "bar",
            "--add-root",
            "r",
            "f.nix",
        ]))
        .unwrap();
        assert!(c.eval);
        assert_eq!(c.inputs, ["f.nix"]);
        assert_eq!(c.add_root.as_deref(), Some("r"));
        let opt = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            c.options,
            [
                opt("timeout", "1"),
                opt("max-jobs", "2"),
                opt("keep-failed", "true"),
                opt("sandbox", "false")
            ]
        );
        assert_eq!(arity("-vx"), None);
    }

    #[test]
    fn urls_stay_as_they_are() {
        let e = SearchPathEntry::parse("u=https://x/y");
        assert!(e.is_url());
        assert_eq!(e.resolve("/cwd"), e);
        assert_eq!(parse_search_path("a::b=c").len(), 2);
    }
}
