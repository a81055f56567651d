# A lib.nix-style fixpoint with 1000 overlays over a 1000-attribute base set.
let
  fix = f: let x = f x; in x;
  extends = f: rattrs: self: let super = rattrs self; in super // f self super;
  base = self: builtins.listToAttrs (builtins.genList (i: { name = "p${toString i}"; value = i; }) 1000);
  overlay = n: self: super: {
    "p${toString n}" = super."p${toString n}" + 1;
    "q${toString n}" = self."p${toString n}" * 2;
  };
  composed = builtins.foldl' (acc: n: extends (overlay n) acc) base (builtins.genList (i: i) 1000);
  r = fix composed;
in
builtins.foldl' (a: n: a + r.${n}) 0 (builtins.attrNames r)
