# What `evalbox build` must build exactly as `nix-build` (Nix 2.8, in a chroot store with its
# sandbox) does: the same output paths, NAR hashes and references. Builders use the host's
# shell and coreutils, which both sandboxes are given (`sandbox-paths = /bin /usr /lib /lib64`).
let
  sys = "x86_64-linux";
  sh = script: attrs: derivation ({
    system = sys;
    builder = "/bin/sh";
    args = [ "-c" "PATH=/usr/bin:/bin\n${script}" ];
  } // attrs);
  greeting = builtins.toFile "greeting" "hello\n";
in rec {
  simple = sh "echo simple > $out" { name = "simple"; };
  multi = sh "echo out > $out; mkdir -p $dev/include; echo $out > $dev/include/ref; echo lib > $lib" {
    name = "multi";
    outputs = [ "out" "dev" "lib" ];
  };
  chain = sh "cat ${simple} > $out; echo $HOME $PATH $NIX_STORE >> $out" { name = "chain"; };
  diamondLeft = sh "echo left ${chain} > $out" { name = "diamond-left"; };
  diamondRight = sh "echo right ${chain} ${multi.dev} > $out" { name = "diamond-right"; };
  diamond = sh "cat ${diamondLeft} ${diamondRight} > $out" { name = "diamond"; };
  tree = sh ''
    mkdir -p $out/bin $out/share/empty
    printf '#!/bin/sh\necho hi\n' > $out/bin/hi
    chmod +x $out/bin/hi
    ln -s ../share $out/bin/share
    echo ${greeting} > $out/share/greeting-path
  '' { name = "tree"; };
  source = sh "cp -r ${./build-src} $out; chmod -R u+w $out; echo extra > $out/extra" { name = "source"; };
  filtered = sh "cp -r ${builtins.filterSource (p: t: baseNameOf p != "skip.txt") ./build-src} $out" { name = "filtered"; };
  envVars = sh ''
    for v in NIX_BUILD_TOP TMPDIR TEMPDIR TMP TEMP HOME NIX_STORE NIX_LOG_FD name out; do
      eval "echo $v=\$$v"
    done > $out
    pwd >> $out
  '' { name = "env-vars"; };
  passAsFile = sh "cat $bigPath > $out; test -z \"$big\" && echo unset >> $out" {
    name = "pass-as-file";
    passAsFile = [ "big" ];
    big = "a lot of text\n";
  };
  # Nix 2.8 predates NIX_ATTRS_*_FILE; both write the files to the build directory.
  structured = sh ''
    . "$NIX_BUILD_TOP/.attrs.sh"
    echo "$greeting ''${list[1]} ''${set[key]}" > ''${outputs[out]}
    cat "$NIX_BUILD_TOP/.attrs.json" >> ''${outputs[out]}
  '' {
    builder = "/bin/bash";
    name = "structured";
    __structuredAttrs = true;
    greeting = "hi";
    list = [ "a" "b" ];
    set = { key = "value"; };
  };
  fodFlat = sh "printf hi > $out" {
    name = "fod-flat";
    outputHashAlgo = "sha256";
    outputHash = builtins.hashString "sha256" "hi";
  };
  fodRecursive = sh "mkdir $out; printf hi > $out/file" {
    name = "fod-recursive";
    outputHashMode = "recursive";
    outputHash = "sha256-mJsVr/L5q4LhZ22NqTz3Lfx/k3HkPNAkn7tysSoIw/o=";
  };
  usesFod = sh "cat ${fodFlat} ${fodRecursive}/file > $out" { name = "uses-fod"; };
  allowed = sh "echo ${simple} > $out" { name = "allowed"; allowedReferences = [ simple ]; };
  # Fetched at evaluation time (Nix) or by the store's builtin:fetchurl (evalbox): the same path.
  fetched = sh "cat ${builtins.fetchurl { url = "file://${toString ./build-src/a.txt}"; sha256 = "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7"; }} > $out" {
    name = "fetched";
  };
  ifd = let generated = sh "echo '{ value = \"from ifd\"; }' > $out" { name = "generated"; };
        in sh "echo ${(import generated).value} > $out" { name = "ifd"; };
}
