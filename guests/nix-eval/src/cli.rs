//! The `nix-instantiate`-compatible command line of the `nix-eval` binary.
//!
//! Kept in the library (not the binary) so the same code serves the native binary, the
//! wasm guest and tests. Only `std` is used: file reads, arguments, stdout/stderr.

use std::collections::HashMap;
use std::io::Write;
use std::rc::Rc;

use crate::eval::{EvalOptions, Evaluator, Result, parent_dir};
use crate::source::{Origin, Pos, Sym};
use crate::value::{Attr, Value};

/// Parsed command line.
#[derive(Debug, Default, Clone)]
pub struct Args {
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
    /// `--show-trace`.
    pub show_trace: bool,
    /// `-E`: expressions instead of files.
    pub expr: bool,
    /// Files or expressions.
    pub inputs: Vec<String>,
    /// `-A` paths.
    pub attrs: Vec<String>,
    /// `--arg`/`--argstr` (name, value, is_string).
    pub auto_args: Vec<(String, String, bool)>,
    /// Evaluator options.
    pub opts: EvalOptions,
}

/// A command-line error.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CliError {
    /// A flag needs a value.
    #[error("flag '{0}' requires an argument")]
    MissingValue(String),
    /// Unknown flag.
    #[error("unrecognised flag '{0}'")]
    UnknownFlag(String),
    /// Bad numeric value.
    #[error("invalid value '{1}' for '{0}'")]
    BadValue(String, String),
}

fn split_search(entry: &str, cwd: &str) -> (Option<String>, String) {
    let abs = |p: &str| {
        if p.starts_with('/') || p.contains("://") {
            p.to_owned()
        } else {
            crate::parser::canon_path(&format!("{cwd}/{p}"))
        }
    };
    match entry.split_once('=') {
        Some((k, v)) => (Some(k.to_owned()), abs(v)),
        None => (None, abs(entry)),
    }
}

/// Parses arguments (without the program name). `cwd` resolves relative `-I` entries.
pub fn parse_args(argv: &[String], cwd: &str) -> std::result::Result<Args, CliError> {
    let mut a = Args::default();
    let mut i = 0;
    let mut nix_path: Vec<(Option<String>, String)> = Vec::new();
    let mut ipaths: Vec<(Option<String>, String)> = Vec::new();
    let mut env: HashMap<String, String> = HashMap::new();
    let val = |i: &mut usize, flag: &str| -> std::result::Result<String, CliError> {
        *i += 1;
        argv.get(*i)
            .cloned()
            .ok_or_else(|| CliError::MissingValue(flag.to_owned()))
    };
    while i < argv.len() {
        let f = argv[i].as_str();
        match f {
            "--eval" => a.eval = true,
            "--parse" => a.parse = true,
            "--strict" => a.strict = true,
            "--json" => a.json = true,
            "--xml" => a.xml = true,
            "--no-location" => a.no_location = true,
            "--show-trace" => a.show_trace = true,
            "--no-show-trace" => a.show_trace = false,
            "--impure" | "--read-write-mode" | "--readonly-mode" | "--pure-eval" => {}
            "-E" | "--expr" => a.expr = true,
            "-A" | "--attr" => a.attrs.push(val(&mut i, f)?),
            "--arg" => {
                let n = val(&mut i, f)?;
                let v = val(&mut i, f)?;
                a.auto_args.push((n, v, false));
            }
            "--argstr" => {
                let n = val(&mut i, f)?;
                let v = val(&mut i, f)?;
                a.auto_args.push((n, v, true));
            }
            "-I" | "--include" => {
                let v = val(&mut i, f)?;
                ipaths.push(split_search(&v, cwd));
            }
            "--nix-path" => {
                let v = val(&mut i, f)?;
                nix_path.extend(
                    v.split(':')
                        .filter(|s| !s.is_empty())
                        .map(|e| split_search(e, cwd)),
                );
            }
            "--env" => {
                let v = val(&mut i, f)?;
                match v.split_once('=') {
                    Some((k, x)) => env.insert(k.to_owned(), x.to_owned()),
                    None => env.insert(v.clone(), String::new()),
                };
            }
            "--system" => a.opts.system = val(&mut i, f)?,
            "--current-time" => {
                let v = val(&mut i, f)?;
                a.opts.current_time = v.parse().map_err(|_| CliError::BadValue(f.into(), v))?;
            }
            "--max-call-depth" => {
                let v = val(&mut i, f)?;
                a.opts.max_call_depth = v.parse().map_err(|_| CliError::BadValue(f.into(), v))?;
            }
            "--extra-experimental-features" | "--experimental-features" => {
                let v = val(&mut i, f)?;
                a.opts
                    .experimental
                    .extend(v.split_whitespace().map(str::to_owned));
            }
            "--option" => {
                let n = val(&mut i, f)?;
                let v = val(&mut i, f)?;
                if n == "max-call-depth" {
                    a.opts.max_call_depth =
                        v.parse().map_err(|_| CliError::BadValue(n.clone(), v))?;
                }
            }
            _ if f.starts_with("--lint-") => {
                let v = val(&mut i, f)?;
                a.opts
                    .lints
                    .push((f.trim_start_matches("--lint-").to_owned(), v));
            }
            _ if f.starts_with('-') && f != "-" => return Err(CliError::UnknownFlag(f.to_owned())),
            _ => a.inputs.push(f.to_owned()),
        }
        i += 1;
    }
    ipaths.extend(nix_path);
    a.opts.search_path = ipaths;
    a.opts.env = env;
    Ok(a)
}

/// Output of a run.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Standard output.
    pub stdout: String,
    /// Exit code.
    pub code: i32,
}

fn auto_call(ev: &Evaluator, v: Value, args: &Rc<crate::value::Attrs>) -> Result<Value> {
    let f = ev.force(&v)?;
    match &f {
        Value::Lambda(c) => match &c.lambda.formals {
            Some(formals) => {
                let mut entries = Vec::new();
                for a in &args.entries {
                    if c.lambda.ellipsis || formals.iter().any(|f| f.0 == a.name) {
                        entries.push(a.clone());
                    }
                }
                let arg = Value::attrs(entries);
                ev.call(&f, arg, Pos::NONE)
            }
            None => Ok(f),
        },
        Value::Attrs(a) if a.get(Sym::new("__functor")).is_some() => {
            ev.call(&f, Value::Attrs(args.clone()), Pos::NONE)
        }
        _ => Ok(f),
    }
}

fn select_path(
    ev: &Evaluator,
    mut v: Value,
    path: &str,
    args: &Rc<crate::value::Attrs>,
) -> Result<Value> {
    if path.is_empty() {
        return Ok(v);
    }
    for comp in path.split('.') {
        v = auto_call(ev, v, args)?;
        let f = ev.force(&v)?;
        if let Ok(idx) = comp.parse::<usize>()
            && let Value::List(l) = &f
        {
            v = l.get(idx).cloned().ok_or_else(|| {
                crate::Error::eval(format!(
                    "list index {idx} in selection path '{path}' is out of range"
                ))
            })?;
            continue;
        }
        let a = match &f {
            Value::Attrs(a) => a.clone(),
            _ => {
                return Err(crate::Error::eval(format!(
                    "the expression selected by the selection path '{path}' should be a set but is {}",
                    f.type_name()
                )));
            }
        };
        v = a.get(Sym::new(comp)).cloned().ok_or_else(|| {
            crate::Error::eval(format!(
                "attribute '{comp}' in selection path '{path}' not found"
            ))
        })?;
    }
    Ok(v)
}

/// Runs the command: everything except writing stdout (returned) and stderr (written to
/// `stderr` as it happens).
pub fn run(args: &Args, cwd: &str, stdin: &dyn Fn() -> std::io::Result<String>) -> Outcome {
    let ev = match crate::store::ReadOnlyStore::new(&args.opts.store_dir) {
        Ok(store) => Evaluator::with_store(args.opts.clone(), Box::new(store)),
        Err(_) => Evaluator::new(args.opts.clone()),
    };
    ev.reset_stack_base();
    let mut out = Outcome::default();
    let r = run_inner(&ev, args, cwd, stdin, &mut out.stdout);
    match r {
        Ok(()) => out.code = 0,
        Err(e) => {
            let _ = std::io::stdout().flush();
            let msg = crate::diag::format_error(&e, args.show_trace);
            ev.diag(msg.trim_end_matches('\n'));
            out.code = 1;
        }
    }
    // The process ends right after: skip tearing down the value graph, whose recursive
    // drop could be deeper than the stack for long linked structures (and costs time).
    std::mem::forget(ev);
    out
}

fn run_inner(
    ev: &Evaluator,
    args: &Args,
    cwd: &str,
    stdin: &dyn Fn() -> std::io::Result<String>,
    stdout: &mut String,
) -> Result<()> {
    // auto arguments
    let mut entries = Vec::new();
    for (n, v, is_str) in &args.auto_args {
        let value = if *is_str {
            Value::str(v.clone())
        } else {
            let ir = ev.compile_source(v, Origin::String, cwd, None)?;
            Value::pending(ir, ev.base_env.clone())
        };
        entries.push(Attr {
            name: Sym::new(n),
            value,
            pos: Pos::NONE,
        });
    }
    let auto = match Value::attrs(entries) {
        Value::Attrs(a) => a,
        _ => unreachable!(),
    };
    let inputs: Vec<String> = if args.inputs.is_empty() && !args.expr {
        vec!["-".into()]
    } else {
        args.inputs.clone()
    };
    for input in inputs {
        let (text, origin, dir) = if args.expr {
            (input.clone(), Origin::String, cwd.to_owned())
        } else if input == "-" {
            let t =
                stdin().map_err(|e| crate::Error::eval(format!("reading standard input: {e}")))?;
            (t, Origin::Stdin, cwd.to_owned())
        } else {
            let p = if input.starts_with('/') {
                input.clone()
            } else {
                format!("{cwd}/{input}")
            };
            let mut p = crate::parser::canon_path(&p);
            if std::fs::metadata(&p).map(|m| m.is_dir()).unwrap_or(false) {
                p = format!("{p}/default.nix");
            }
            let t = ev.read_file(&p, Pos::NONE)?;
            let d = parent_dir(&p);
            (t, Origin::File(p), d)
        };
        if args.parse {
            let ir = ev.compile_source(&text, origin, &dir, None)?;
            let _ = ir;
            let ast = crate::parser::parse(&text, 1, &dir).map_err(crate::Error::from)?;
            stdout.push_str(&crate::compile::show_parsed(&ast)?);
            stdout.push('\n');
            continue;
        }
        let root = ev.eval_source(&text, origin, &dir)?;
        let paths = if args.attrs.is_empty() {
            vec![String::new()]
        } else {
            args.attrs.clone()
        };
        for p in paths {
            let v = select_path(ev, root.clone(), &p, &auto)?;
            let v = auto_call(ev, v, &auto)?;
            let v = if args.strict {
                ev.force_deep(&v)?
            } else {
                ev.force(&v)?
            };
            // Never drop the result graph (see `run`): keep one reference forever.
            std::mem::forget(v.clone());
            if args.json {
                let mut ctx = crate::value::NixString::default();
                // like nix-instantiate 2.8: no trailing newline after JSON
                stdout.push_str(&crate::formats::to_json(ev, &v, Pos::NONE, &mut ctx)?);
            } else if args.xml {
                let mut ctx = crate::value::NixString::default();
                stdout.push_str(&crate::formats::to_xml_opts(
                    ev,
                    &v,
                    Pos::NONE,
                    &mut ctx,
                    !args.no_location,
                )?);
            } else {
                if args.strict {
                    stdout.push_str(&crate::print::print_value(&v));
                } else {
                    stdout.push_str(&crate::print::print_value_lazy(&v));
                }
                stdout.push('\n');
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Args {
        parse_args(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "/cwd").unwrap()
    }

    #[test]
    fn flags_of_the_suite() {
        let a = args(&[
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
        ]);
        assert!(a.eval && a.strict);
        assert_eq!(
            a.opts.search_path,
            vec![
                (None, "/cwd/lang/dir1".to_owned()),
                (Some("dir5".to_owned()), "/cwd/lang/dir3".to_owned()),
                (None, "/cwd/a".to_owned()),
                (Some("b".to_owned()), "/cwd/c".to_owned()),
            ]
        );
        assert_eq!(a.auto_args.len(), 2);
        assert_eq!(a.opts.max_call_depth, 100);
        assert_eq!(a.opts.env.get("K").map(String::as_str), Some("V"));
        assert_eq!(a.opts.experimental, vec!["f", "g"]);
        assert_eq!(a.inputs, vec!["f.nix"]);
        let bad = parse_args(&["--bogus".to_string()], "/");
        assert_eq!(bad.unwrap_err(), CliError::UnknownFlag("--bogus".into()));
    }

    #[test]
    fn eval_expression_with_auto_args() {
        let a = args(&[
            "--eval",
            "--strict",
            "-E",
            "{ x, y }: [ x y ]",
            "--arg",
            "x",
            "1 + 1",
            "--argstr",
            "y",
            "s",
        ]);
        let out = run(&a, "/", &|| Ok(String::new()));
        assert_eq!(out.code, 0);
        assert_eq!(out.stdout, "[ 2 \"s\" ]\n");
    }
}
