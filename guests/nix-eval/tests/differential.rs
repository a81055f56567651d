//! Differential test against real Nix (`nix-instantiate --eval --strict`, 2.8 here): a
//! seeded generator of random well-formed expressions (nested lets and recs, attribute
//! sets, lists, strings, arithmetic, comparisons, builtins calls); both evaluators must
//! agree on success/failure and, on success, print the same value. Skipped (with a
//! message) when `nix-instantiate` is not installed.

use std::process::Command;

struct Gen {
    state: u64,
    vars: Vec<String>,
    fresh: usize,
}

impl Gen {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn int(&mut self) -> String {
        let v = self.pick(40) as i64 - 10;
        if v < 0 {
            format!("({v})")
        } else {
            v.to_string()
        }
    }
    fn ints(&mut self, d: u32) -> String {
        let n = self.pick(5);
        let items: Vec<String> = (0..n).map(|_| self.num(d)).collect();
        format!("[ {} ]", items.join(" "))
    }
    fn num(&mut self, d: u32) -> String {
        if d == 0 {
            return self.int();
        }
        match self.pick(8) {
            0 => format!("({} + {})", self.num(d - 1), self.num(d - 1)),
            1 => format!("({} * {})", self.num(d - 1), self.num(d - 1)),
            2 => format!("({} - {})", self.num(d - 1), self.num(d - 1)),
            3 => format!("(builtins.length {})", self.ints(d - 1)),
            4 => format!("(builtins.foldl' (a: b: a + b) 0 {})", self.ints(d - 1)),
            5 if !self.vars.is_empty() => {
                let i = self.pick(self.vars.len() as u64) as usize;
                self.vars[i].clone()
            }
            6 => format!(
                "(if {} then {} else {})",
                self.boolean(d - 1),
                self.num(d - 1),
                self.num(d - 1)
            ),
            _ => self.int(),
        }
    }
    fn boolean(&mut self, d: u32) -> String {
        match self.pick(5) {
            0 => format!("({} < {})", self.num(d), self.num(d)),
            1 => format!("({} == {})", self.any(d), self.any(d)),
            2 => format!("(builtins.elem {} {})", self.num(d), self.ints(d)),
            3 => format!("({} ? a)", self.attrs(d)),
            _ => ["true", "false"][self.pick(2) as usize].to_owned(),
        }
    }
    fn string(&mut self, d: u32) -> String {
        match self.pick(6) {
            0 => format!("\"s{}\"", self.pick(9)),
            1 => format!("(toString {})", self.num(d)),
            2 => format!("\"pre${{toString {}}}post\"", self.num(d)),
            3 => format!(
                "(builtins.concatStringsSep \",\" (map toString {}))",
                self.ints(d)
            ),
            4 => format!(
                "(builtins.replaceStrings [\"1\"] [\"one\"] (toString {}))",
                self.num(d)
            ),
            _ => format!("(builtins.substring 1 2 \"abcdef{}\")", self.pick(9)),
        }
    }
    fn attrs(&mut self, d: u32) -> String {
        let n = self.pick(4);
        let mut s = String::from(if self.pick(3) == 0 { "rec { " } else { "{ " });
        for i in 0..n {
            let name = ["a", "b", "c", "d"][i as usize];
            s.push_str(&format!("{name} = {}; ", self.any(d.saturating_sub(1))));
        }
        s.push('}');
        match self.pick(4) {
            0 => format!("({s} // {{ b = {}; }})", self.num(d.saturating_sub(1))),
            _ => s,
        }
    }
    fn any(&mut self, d: u32) -> String {
        if d == 0 {
            return if self.pick(2) == 0 {
                self.int()
            } else {
                self.string(0)
            };
        }
        match self.pick(10) {
            0 | 1 => self.num(d),
            2 => self.string(d - 1),
            3 => self.attrs(d - 1),
            4 => format!("[ {} {} ]", self.any(d - 1), self.any(d - 1)),
            5 => {
                let v = format!("v{}", self.fresh);
                self.fresh += 1;
                let val = self.any(d - 1);
                self.vars.push(v.clone());
                let body = self.any(d - 1);
                self.vars.pop();
                format!("(let {v} = {val}; in {body})")
            }
            6 => format!("({}).a or {}", self.attrs(d - 1), self.num(d - 1)),
            7 => format!("(builtins.attrNames {})", self.attrs(d - 1)),
            8 => self.extra(d - 1),
            _ => format!("(builtins.sort builtins.lessThan {})", self.ints(d - 1)),
        }
    }
    fn extra(&mut self, d: u32) -> String {
        match self.pick(14) {
            0 => format!("(with {}; {})", self.attrs(d), self.num(d)),
            1 => format!("(builtins.mapAttrs (n: v: [ n v ]) {})", self.attrs(d)),
            2 => format!("(builtins.filter (x: x > 2) {})", self.ints(d)),
            3 => format!("(builtins.toJSON {})", self.any(d)),
            4 => format!(
                "(builtins.genList (i: i * {}) {})",
                self.num(d),
                self.pick(5)
            ),
            5 => format!("({} / 2.5)", self.num(d)),
            6 => format!("({} < {})", self.string(d), self.string(d)),
            7 => format!("(builtins.match \"([a-z]+)([0-9]*)\" {})", self.string(d)),
            8 => format!("(builtins.split \"[0-9]\" {})", self.string(d)),
            9 => format!(
                "(builtins.listToAttrs [ {{ name = {}; value = {}; }} ])",
                self.string(d),
                self.any(d)
            ),
            10 => format!("({} ++ {})", self.ints(d), self.ints(d)),
            11 => format!("(builtins.concatMap (x: [ x x ]) {})", self.ints(d)),
            12 => format!(
                "(builtins.tryEval (if {} then throw \"t\" else {}))",
                self.boolean(d),
                self.num(d)
            ),
            _ => format!(
                "(builtins.compareVersions {} {})",
                self.string(d),
                self.string(d)
            ),
        }
    }
}

fn eval(cmd: &str, expr: &str) -> (bool, String) {
    let out = Command::new(cmd)
        .args(["--eval", "--strict", "-E", expr])
        .output()
        .expect("run evaluator");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn random_expressions_match_nix() {
    if Command::new("nix-instantiate")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: nix-instantiate not installed");
        return;
    }
    let ours = env!("CARGO_BIN_EXE_nix-eval");
    let cases: usize = std::env::var("NIX_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let seed: u64 = std::env::var("NIX_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    let mut g = Gen {
        state: seed,
        vars: Vec::new(),
        fresh: 0,
    };
    let mut mismatches = Vec::new();
    let mut errors = 0;
    for _ in 0..cases {
        let e = g.any(4);
        let (nok, nout) = eval("nix-instantiate", &e);
        let (ook, oout) = eval(ours, &e);
        if !nok {
            errors += 1;
        }
        if nok != ook || (nok && nout != oout) {
            mismatches.push(format!(
                "{e}\n  nix:  {nok} {}\n  ours: {ook} {}",
                nout.trim(),
                oout.trim()
            ));
        }
    }
    println!(
        "{cases} random expressions, {errors} failing in Nix, {} mismatches",
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "mismatches:\n{}",
        mismatches.join("\n")
    );
}
