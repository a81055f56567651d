//! The `nix-instantiate`-compatible command line of the `nix-eval` binary.
//!
//! Kept in the library (not the binary) so the same code serves the native binary, the
//! wasm guest and tests. Only `std` is used: file reads, arguments, stdout/stderr.

use std::collections::HashSet;
use std::io::Write;
use std::rc::Rc;

use nix_args::{AutoArgValue, Command, Source};

use crate::builtins::formats::{to_json, to_xml_opts};
use crate::diag::format_error;
use crate::error::{Error, Result};
use crate::eval::{Coercion, EvalOptions, Evaluator};
use crate::io::{EvalIo, IoError, StdIo};
use crate::jobs::{self, auto_call};
use crate::source::{Origin, Pos, Sym};
use crate::syntax::path::{canon_path, parent_dir};
use crate::value::print::{print_value, print_value_lazy};
use crate::value::{Attr, Attrs, NixString, Value};

/// A parsed command line: what to do, and the evaluator's options it sets.
#[derive(Debug, Default, Clone)]
pub struct Args {
    /// The command line as nix-instantiate's grammar reads it.
    pub cmd: Command,
    /// Evaluator options (the search path resolved against the working directory).
    pub opts: EvalOptions,
}

/// Parses arguments (without the program name). `cwd` resolves relative `-I` entries.
pub fn parse_args(argv: &[String], cwd: &str) -> std::result::Result<Args, nix_args::Error> {
    let cmd = Command::parse(argv)?;
    let mut opts = EvalOptions {
        env: cmd.env.iter().cloned().collect(),
        search_path: cmd.search_path.iter().map(|e| e.resolve(cwd)).collect(),
        experimental: cmd.experimental.clone(),
        lints: cmd.lints.clone(),
        ..EvalOptions::default()
    };
    if let Some(system) = &cmd.system {
        opts.system = system.clone();
    }
    if let Some(time) = cmd.current_time {
        opts.current_time = time;
    }
    if let Some(depth) = cmd.max_call_depth {
        opts.max_call_depth = depth;
    }
    opts.allow_ifd = !cmd.no_ifd;
    opts.abort_on_warn = cmd.abort_on_warn;
    Ok(Args { cmd, opts })
}

/// The I/O the command line asks for. In the sandbox (`roots`: the preopened directories)
/// the store is the host's, reached through the store capability, unless `--readonly-mode`
/// asks for store paths to be computed only; natively there is no store to reach.
pub fn io(
    args: &Args,
    roots: Option<Vec<String>>,
) -> std::result::Result<Box<dyn EvalIo>, IoError> {
    #[cfg(all(target_os = "wasi", target_env = "p2"))]
    if let Some(roots) = &roots
        && args.cmd.readonly_mode != Some(true)
    {
        return Ok(Box::new(crate::io::HostIo::new(roots.clone())?));
    }
    let _ = args;
    Ok(Box::new(StdIo::new("/nix/store", roots)?))
}

/// Output of a run.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Standard output.
    pub stdout: String,
    /// Exit code.
    pub code: i32,
}

fn select_path(ev: &Evaluator, mut v: Value, path: &str, args: &Rc<Attrs>) -> Result<Value> {
    let parts = nix_args::parse_attr_path(path).map_err(|e| Error::eval(e.to_string()))?;
    for comp in parts.iter().map(String::as_str) {
        v = auto_call(ev, v, args)?;
        let f = ev.force(&v)?;
        if let Ok(idx) = comp.parse::<usize>()
            && let Value::List(l) = &f
        {
            v = l.get(idx).cloned().ok_or_else(|| {
                Error::eval(format!(
                    "list index {idx} in selection path '{path}' is out of range"
                ))
            })?;
            continue;
        }
        let a = match &f {
            Value::Attrs(a) => a.clone(),
            _ => {
                return Err(Error::eval(format!(
                    "the expression selected by the selection path '{path}' should be a set but is {}",
                    f.type_name()
                )));
            }
        };
        v = a.get(Sym::new(comp)).cloned().ok_or_else(|| {
            Error::eval(format!(
                "attribute '{comp}' in selection path '{path}' not found"
            ))
        })?;
    }
    Ok(v)
}

/// Runs the command: everything except writing stdout (returned) and stderr (written to
/// `stderr` as it happens).
pub fn run(
    args: &Args,
    cwd: &str,
    io: Box<dyn EvalIo>,
    stdin: &dyn Fn() -> std::io::Result<String>,
) -> Outcome {
    let ev = Evaluator::with_io(args.opts.clone(), io);
    ev.reset_stack_base();
    let mut out = Outcome::default();
    let r = run_inner(&ev, args, cwd, stdin, &mut out.stdout);
    match r {
        Ok(()) => out.code = 0,
        Err(e) => {
            let _ = std::io::stdout().flush();
            let msg = format_error(&e, args.cmd.show_trace);
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
    for arg in &args.cmd.auto_args {
        let value = match &arg.value {
            AutoArgValue::Str(s) => Value::str(s.clone()),
            AutoArgValue::Expr(e) => {
                let ir = ev.compile_source(e, Origin::String, cwd, None)?;
                Value::pending(ir, ev.base_env.clone())
            }
        };
        entries.push(Attr {
            name: Sym::new(&arg.name),
            value,
            pos: Pos::NONE,
        });
    }
    let auto = match Value::attrs(entries) {
        Value::Attrs(a) => a,
        _ => unreachable!(),
    };
    for source in args.cmd.sources() {
        let (text, origin, dir) = match source {
            Source::Expr(e) => (e, Origin::String, cwd.to_owned()),
            Source::Stdin => {
                let t = stdin().map_err(|e| Error::eval(format!("reading standard input: {e}")))?;
                (t, Origin::Stdin, cwd.to_owned())
            }
            Source::File(f) => {
                let p = if f.starts_with('/') {
                    f
                } else {
                    format!("{cwd}/{f}")
                };
                let p = ev.import_path(&canon_path(&p), Pos::NONE)?;
                let t = ev.read_file(&p, Pos::NONE)?;
                let d = parent_dir(&p);
                (t, Origin::File(p), d)
            }
        };
        if args.cmd.parse {
            ev.compile_source(&text, origin, &dir, None)?;
            let ast = crate::syntax::parse(&text, 1, &dir)?;
            stdout.push_str(&crate::syntax::show_parsed(&ast)?);
            stdout.push('\n');
            continue;
        }
        let root = ev.eval_source(&text, origin, &dir)?;
        if args.cmd.eval_jobs {
            return jobs::serve(ev, &args.cmd, root, &auto);
        }
        let paths = if args.cmd.attrs.is_empty() {
            vec![String::new()]
        } else {
            args.cmd.attrs.clone()
        };
        for p in paths {
            let v = select_path(ev, root.clone(), &p, &auto)?;
            if !args.cmd.eval {
                // Instantiation: the derivations are written as they are evaluated.
                let mut found = Vec::new();
                derivations(ev, &v, &auto, &mut found, &mut HashSet::new())?;
                for line in found {
                    stdout.push_str(&line);
                    stdout.push('\n');
                }
                continue;
            }
            let v = auto_call(ev, v, &auto)?;
            if args.cmd.value_json {
                std::mem::forget(v.clone());
                stdout.push_str(&crate::value_json::render(ev, &v)?);
                stdout.push('\n');
                continue;
            }
            let v = if args.cmd.strict {
                ev.force_deep(&v)?
            } else {
                ev.force(&v)?
            };
            // Never drop the result graph (see `run`): keep one reference forever.
            std::mem::forget(v.clone());
            if args.cmd.json {
                let mut ctx = NixString::default();
                // like nix-instantiate 2.8: no trailing newline after JSON
                stdout.push_str(&to_json(ev, &v, Pos::NONE, &mut ctx)?);
            } else if args.cmd.xml {
                let mut ctx = NixString::default();
                stdout.push_str(&to_xml_opts(
                    ev,
                    &v,
                    Pos::NONE,
                    &mut ctx,
                    !args.cmd.no_location,
                )?);
            } else {
                if args.cmd.strict {
                    stdout.push_str(&print_value(&v));
                } else {
                    stdout.push_str(&print_value_lazy(&v));
                }
                stdout.push('\n');
            }
        }
    }
    Ok(())
}

/// The derivations `v` holds, as `nix-instantiate` finds them (Nix's `getDerivations`): `v`
/// itself, else the derivations among a set's attributes (in name order, recursing into sets
/// with `recurseForDerivations = true`) or a list's elements; each as the line
/// `nix-instantiate` prints, its `.drv` path with `!output` for an output other than `out`.
fn derivations(
    ev: &Evaluator,
    v: &Value,
    auto: &Rc<Attrs>,
    out: &mut Vec<String>,
    done: &mut HashSet<usize>,
) -> Result<()> {
    let v = ev.force(&auto_call(ev, v.clone(), auto)?)?;
    if derivation(ev, &v, out, done)? {
        return Ok(());
    }
    match &v {
        Value::Attrs(attrs) => {
            let recurse = Sym::new("recurseForDerivations");
            for at in attrs.sorted_by_name() {
                if !is_plain_attr_name(at.name.as_str()) {
                    continue;
                }
                let x = ev.force(&at.value)?;
                if derivation(ev, &x, out, done)? {
                    continue;
                }
                if let Value::Attrs(inner) = &x
                    && let Some(r) = inner.get(recurse)
                    && ev.expect_bool(r, Pos::NONE)?
                {
                    derivations(ev, &x, auto, out, done)?;
                }
            }
            Ok(())
        }
        Value::List(items) => {
            for item in items.iter() {
                let x = ev.force(item)?;
                if !derivation(ev, &x, out, done)? {
                    derivations(ev, &x, auto, out, done)?;
                }
            }
            Ok(())
        }
        _ => Err(Error::eval(
            "expression does not evaluate to a derivation (or a set or list of those)",
        )),
    }
}

/// When the forced `v` is a derivation: adds its line (once per set) and says so.
fn derivation(
    ev: &Evaluator,
    v: &Value,
    out: &mut Vec<String>,
    done: &mut HashSet<usize>,
) -> Result<bool> {
    let Value::Attrs(attrs) = v else {
        return Ok(false);
    };
    if !ev.is_derivation(attrs)? {
        return Ok(false);
    }
    if !done.insert(Rc::as_ptr(attrs) as usize) {
        return Ok(true);
    }
    let string_attr = |name: &str| -> Result<String> {
        match attrs.get(Sym::new(name)) {
            Some(v) => Ok(ev.coerce_to_string(v, Pos::NONE, Coercion::AS_IS)?.s),
            None => Ok(String::new()),
        }
    };
    let drv_path = string_attr("drvPath")?;
    let output = string_attr("outputName")?;
    if output.is_empty() {
        return Err(Error::eval(format!(
            "derivation '{drv_path}' lacks an 'outputName' attribute"
        )));
    }
    out.push(if output == "out" {
        drv_path
    } else {
        format!("{drv_path}!{output}")
    });
    Ok(true)
}

/// Whether a set's attribute is one `nix-instantiate` looks at (`[A-Za-z_][A-Za-z0-9-_+]*`).
fn is_plain_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'))
}

#[cfg(test)]
mod tests {
    use nix_args::SearchPathEntry;

    use super::*;

    fn args(v: &[&str]) -> Args {
        parse_args(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "/cwd").unwrap()
    }

    #[test]
    fn the_command_line_sets_the_options() {
        let a = args(&[
            "--eval",
            "-I",
            "lang/dir1",
            "--nix-path",
            "b=c",
            "--max-call-depth",
            "100",
            "--env",
            "K=V",
            "--system",
            "aarch64-darwin",
            "f.nix",
        ]);
        assert_eq!(
            a.opts.search_path,
            vec![
                SearchPathEntry::parse("/cwd/lang/dir1"),
                SearchPathEntry::parse("b=/cwd/c"),
            ]
        );
        assert_eq!(a.opts.max_call_depth, 100);
        assert_eq!(a.opts.env.get("K").map(String::as_str), Some("V"));
        assert_eq!(a.opts.system, "aarch64-darwin");
        let bad = parse_args(&["--bogus".to_string()], "/");
        assert_eq!(
            bad.unwrap_err(),
            nix_args::Error::UnknownFlag("--bogus".into())
        );
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
        let out = run(&a, "/", io(&a, None).unwrap(), &|| Ok(String::new()));
        assert_eq!(out.code, 0);
        assert_eq!(out.stdout, "[ 2 \"s\" ]\n");
    }
}
