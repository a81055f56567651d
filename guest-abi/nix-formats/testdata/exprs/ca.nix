# Content-addressed derivations (experimental in Nix 2.8): floating outputs,
# a dependent whose outputs are deferred, and an impure derivation.
let
  base = { system = "x86_64-linux"; builder = "/bin/sh"; };
in rec {
  floating = derivation (base // {
    name = "floating"; __contentAddressed = true;
    outputHashMode = "recursive"; outputHashAlgo = "sha256";
    outputs = [ "out" "dev" ];
    args = [ "-c" "echo hi > $out; echo dev > $dev" ];
  });
  floatingFlat = derivation (base // {
    name = "floating-flat"; __contentAddressed = true;
    outputHashMode = "flat"; outputHashAlgo = "sha512";
    args = [ "-c" "echo hi > $out" ];
  });
  deferred = derivation (base // {
    name = "deferred";
    args = [ "-c" "cat ${floating} ${floating.dev} > $out" ];
  });
  impure = derivation (base // {
    name = "impure"; __impure = true;
    args = [ "-c" "date > $out" ];
  });
}
