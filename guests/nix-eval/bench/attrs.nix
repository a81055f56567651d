# Parse and evaluate a generated 20 000-attribute file (see run.sh).
let a = import ./attrs-data.nix; in builtins.length (builtins.attrNames a) + a.a19999.x
