# Derivations of every kind evalbox must write byte-identically to Nix 2.8. Each attribute is
# instantiated by real Nix (nix-instantiate -A NAME) in the differential tests, and its closure
# is then re-created in the embedded store by evalbox, which must agree on every path and byte.
let
  sys = "x86_64-linux";
  mk = attrs: derivation ({ system = sys; builder = "/bin/sh"; args = [ "-c" "echo $name > $out" ]; } // attrs);
  greeting = builtins.toFile "greeting.txt" "hello from toFile\n";
  refs = builtins.toFile "refs.txt" "see ${greeting}\n";
in rec {
  simple = mk { name = "simple"; };
  multi = mk { name = "multi"; outputs = [ "out" "dev" "lib" ]; };
  devFirst = mk { name = "dev-first"; outputs = [ "dev" "out" ]; };
  fodFlatNix32 = mk { name = "fod-flat"; outputHashMode = "flat"; outputHashAlgo = "sha256";
    outputHash = "1xmr8jicvzszfzpz46g37mlpvbzjl2wpwvl2b05psipssyp1sm8h"; };
  fodRecBase16 = mk { name = "fod-rec"; outputHashMode = "recursive"; outputHashAlgo = "sha256";
    outputHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; };
  fodSri = mk { name = "fod-sri"; outputHash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; };
  fodSha1 = mk { name = "fod-sha1"; outputHashAlgo = "sha1"; outputHash = "da39a3ee5e6b4b0d3255bfef95601890afd80709"; };
  fodSha512Rec = mk { name = "fod-sha512"; outputHashMode = "recursive"; outputHashAlgo = "sha512";
    outputHash = "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="; };
  fodMd5 = mk { name = "fod-md5"; outputHashAlgo = "md5"; outputHash = "d41d8cd98f00b204e9800998ecf8427e"; };
  escapes = mk { name = "escapes"; weird = "quote \" backslash \\ newline \n tab \t cr \r dollar \${x} unicode é 日本 🎉"; empty = ""; };
  withArgs = mk { name = "with-args"; args = [ "-c" "a b" "" "\"q\"" "x\ny" ]; };
  structured = mk { name = "structured"; __structuredAttrs = true; list = [ 1 2.5 "three" true null ]; nested = { a.b = [ { c = "d"; } ]; }; };
  passAsFile = mk { name = "pass-as-file"; passAsFile = [ "big" ]; big = "lots of text"; };
  withSources = mk { name = "with-sources"; inherit greeting refs; src = ./drvs.nix; };
  dep = mk { name = "dep"; a = simple; b = "${multi.dev} ${multi.lib}"; c = fodFlatNix32; d = refs; };
  depOnDep = mk { name = "dep-on-dep"; x = dep; y = fodRecBase16; z = structured; };
  depOnFodOnly = mk { name = "dep-on-fod"; x = fodSri; };
  outputDep = mk { name = "output-dep"; x = multi.dev; };
  bigEnv = mk ({ name = "big-env"; } // builtins.listToAttrs (builtins.genList (i: { name = "v${toString i}"; value = builtins.concatStringsSep "" (builtins.genList (j: toString (i * j)) 50); }) 200));
  unicodeName = mk { name = "uni-x"; value = "ünïcödé"; };
}
