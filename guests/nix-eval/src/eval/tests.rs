//! Unit tests of the evaluator.

use super::*;
use crate::error::{ErrorKind, Result};
use crate::source::Origin;
use crate::value::print::print_value;

fn run_with(opts: EvalOptions, src: &str) -> Result<String> {
    let ev = Evaluator::new(opts);
    let v = ev.eval_source(src, Origin::String, "/")?;
    let v = ev.force_deep(&v)?;
    Ok(print_value(&v))
}

fn run(src: &str) -> Result<String> {
    run_with(EvalOptions::default(), src)
}

fn kind(src: &str) -> ErrorKind {
    run(src).expect_err("should fail").kind()
}

#[test]
fn lexical_scope_beats_with() {
    assert_eq!(run("let x = 1; in with { x = 2; }; x").unwrap(), "1");
    assert_eq!(run("with { x = 1; }; with { x = 2; }; x").unwrap(), "2");
    assert_eq!(
        run("with { x = 1; }; let y = x; in with { x = 2; }; y").unwrap(),
        "1"
    );
    assert_eq!(kind("with { }; x"), ErrorKind::Eval);
    assert_eq!(kind("x"), ErrorKind::Parse);
}

#[test]
fn equality_assertions_say_where_the_sides_differ() {
    let err = |src: &str| run(src).expect_err("should fail").0;
    let e = err("assert [ 1 { a = \"x\"; } ] == [ 1 { a = \"y\"; } ]; 0");
    assert_eq!(e.kind, ErrorKind::Assert);
    assert_eq!(e.msg, "string '\"x\"' is not equal to string '\"y\"'");
    assert_eq!(e.pos, Pos::NONE);
    let frames: Vec<&str> = e.trace.iter().rev().map(|f| f.1.as_str()).collect();
    assert_eq!(
        frames,
        [
            "while evaluating the condition of the assertion '([ (1) ({ a = \"x\"; }) ] == [ (1) ({ a = \"y\"; }) ])'",
            "while comparing list element 1",
            "while comparing attribute 'a'",
            "where left hand side is",
            "where right hand side is",
        ]
    );
    assert_eq!(
        err("assert 1 == 1.5; 0").msg,
        "an integer with value '1' is not equal to a float with value '1.5'"
    );
    assert_eq!(
        err("assert [ 1 ] == [ ]; 0").msg,
        "list of size '1' is not equal to list of size '0', left hand side is '[ 1 ]', right hand side is '[ ]'"
    );
    // Any other condition keeps the plain message; tryEval catches both.
    assert_eq!(
        err("assert 1 < 0; 0").msg,
        "assertion '(__lessThan 1 0)' failed"
    );
    assert_eq!(
        run("(builtins.tryEval (assert { a = 1; } == { b = 1; }; 0)).success").unwrap(),
        "false"
    );
}

#[test]
fn laziness_and_blackholes() {
    assert_eq!(run("let x = throw \"no\"; in 1").unwrap(), "1");
    assert_eq!(run("(x: 1) (throw \"no\")").unwrap(), "1");
    assert_eq!(run("builtins.length [ (throw \"a\") ]").unwrap(), "1");
    assert_eq!(kind("let x = x; in x"), ErrorKind::InfiniteRecursion);
    assert_eq!(
        kind("rec { a = b; b = a; }.a"),
        ErrorKind::InfiniteRecursion
    );
    // a failed thunk is re-evaluated, not left as a blackhole
    assert_eq!(
        run(
            "let x = throw \"t\"; in [ (builtins.tryEval x).success (builtins.tryEval x).success ]"
        )
        .unwrap(),
        "[ false false ]"
    );
}

#[test]
fn arithmetic_rules() {
    assert_eq!(run("7 / 2").unwrap(), "3");
    assert_eq!(run("7 / 2.0").unwrap(), "3.5");
    assert_eq!(run("1 + 2.5").unwrap(), "3.5");
    assert_eq!(kind("9223372036854775807 + 1"), ErrorKind::Eval);
    assert_eq!(kind("1 / 0"), ErrorKind::Eval);
    assert_eq!(run("\"a\" + \"b\"").unwrap(), "\"ab\"");
    assert_eq!(run("/a + \"/b\"").unwrap(), "/a/b");
}

#[test]
fn functions_and_formals() {
    assert_eq!(
        run("({ a, b ? a + 1, ... }@x: [ a b x.c ]) { a = 1; c = 3; }").unwrap(),
        "[ 1 2 3 ]"
    );
    assert_eq!(kind("({ a }: a) { b = 1; }"), ErrorKind::Eval);
    assert_eq!(
        run("let f = { __functor = self: x: x + 1; }; in f 1").unwrap(),
        "2"
    );
}

#[test]
fn environment_is_explicit() {
    let mut opts = EvalOptions::default();
    assert_eq!(
        run_with(opts.clone(), "builtins.getEnv \"HOME\"").unwrap(),
        "\"\""
    );
    opts.env.insert("HOME".into(), "/h".into());
    opts.system = "aarch64-darwin".into();
    assert_eq!(
        run_with(opts.clone(), "builtins.getEnv \"HOME\"").unwrap(),
        "\"/h\""
    );
    assert_eq!(
        run_with(opts.clone(), "builtins.currentSystem").unwrap(),
        "\"aarch64-darwin\""
    );
    assert_eq!(run_with(opts, "builtins.currentTime").unwrap(), "0");
}

#[test]
fn regex_split_like_std_regex() {
    // expected values printed by nix-instantiate 2.8
    assert_eq!(
        run("builtins.split \"a*\" \"baaac\"").unwrap(),
        "[ \"\" [ ] \"b\" [ ] \"\" [ ] \"c\" [ ] \"\" ]"
    );
    assert_eq!(
        run("builtins.split \"a|ab\" \"abc\"").unwrap(),
        "[ \"\" [ ] \"c\" ]"
    );
    assert_eq!(
        run("builtins.match \"(a|ab)(c|bcd)(d*)\" \"abcd\"").unwrap(),
        "[ \"a\" \"bcd\" \"\" ]"
    );
}

#[test]
fn derivation_paths_match_nix() {
    // nix-instantiate --eval --strict of the same expression (Nix 2.8)
    let src = "let d = derivation { name = \"a\"; builder = \"/bin/sh\"; system = \"x86_64-linux\"; args = [ \"-c\" \"echo\" ]; }; \
               e = derivation { name = \"b\"; builder = \"/bin/sh\"; system = \"x86_64-linux\"; dep = d; outputs = [ \"out\" \"dev\" ]; }; \
               in [ d.drvPath d.outPath e.drvPath e.dev.outPath ]";
    assert_eq!(
        run(src).unwrap(),
        "[ \"/nix/store/akidvvb10wbg9ysp26anpai477kchj2z-a.drv\" \"/nix/store/5a8m77d8y1bgalsnjmgmz2ypv6w9n8yc-a\" \
         \"/nix/store/658lgdpzb8k607x7knqkzyz59fvq79qc-b.drv\" \"/nix/store/ms6632q961dicx95hbqrbc1pgs2w7y04-b-dev\" ]"
    );
}

#[test]
fn deep_recursion_and_overflow() {
    let h = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(|| {
            let opts = EvalOptions {
                stack_budget: (1 << 30) - (128 << 20),
                ..Default::default()
            };
            let deep = run_with(
                opts.clone(),
                "let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 9999",
            );
            let infinite = run_with(opts, "let f = n: 1 + f n; in f 0");
            (
                deep.map_err(|e| e.to_string()),
                infinite.map_err(|e| e.kind()),
            )
        })
        .unwrap();
    let (deep, infinite) = h.join().unwrap();
    assert_eq!(deep.unwrap(), "9999");
    assert_eq!(infinite.unwrap_err(), ErrorKind::StackOverflow);
}

/// Multiplication is exact up to the limits of 64 bits and fails past them, whether the
/// operands fit in 32 bits (multiplied directly) or not, through `*` and `builtins.mul`,
/// and on the path that computes arguments on the spot (`f (a * b)`).
#[test]
fn multiplication_overflows_only_past_64_bits() {
    let cases = [
        ("2147483647 * 2147483647", "4611686014132420609"),
        ("(-2147483648) * (-2147483648)", "4611686018427387904"),
        ("3037000499 * 3037000499", "9223372030926249001"),
        (
            "builtins.mul 4294967296 (-2147483648)",
            "-9223372036854775808",
        ),
        ("(x: x) (65536 * 65536)", "4294967296"),
    ];
    for (src, want) in cases {
        assert_eq!(run(src).unwrap(), want, "{src}");
    }
    for src in [
        "3037000500 * 3037000500",
        "4294967296 * 4294967296",
        "builtins.mul 9223372036854775807 2",
        "(x: x) (4294967296 * 4294967296)",
    ] {
        let e = run(src).expect_err(src).0;
        assert!(e.msg.contains("overflow"), "{src}: {}", e.msg);
    }
}
