# Extra derivation vectors for evalbox-nix (see ../README.md). Instantiated,
# never built: paths only.
{ sha512Sri }:
let
  base = { system = "x86_64-linux"; builder = "/bin/sh"; };
  drv = a: derivation (base // a);
  hi = "hi\n";
in rec {
  # Control characters (via JSON), unicode, every ATerm escape.
  unicode = drv {
    name = "unicode";
    args = [ "-c" "echo ok > $out" "" "tab\there" ];
    ctl = builtins.fromJSON ''"\u0001\u0008\u000c\u001f\u007f"'';
    text = "ümlaut ✓ 漢字 😀 \"q\" \\ \n\r\t $";
    "weird key" = "v";
  };
  # Three outputs with a non-"out" first.
  threeOutputs = drv {
    name = "three-outputs";
    outputs = [ "lib" "bin" "out" ];
    args = [ "-c" "true" ];
  };
  # Allowed name characters.
  oddName = drv { name = "a+b-1.0_x?=y"; args = [ ]; };
  # Fixed-output variations: algorithms, modes and hash spellings.
  fodSha1Flat = drv {
    name = "fod-sha1-flat"; args = [ "-c" "echo hi > $out" ];
    outputHashAlgo = "sha1"; outputHash = builtins.hashString "sha1" hi;
  };
  fodSha1Rec = drv {
    name = "fod-sha1-rec"; args = [ "-c" "echo hi > $out" ];
    outputHashMode = "recursive"; outputHashAlgo = "sha1";
    outputHash = "0000000000000000000000000000000000000000";
  };
  fodSha512Sri = drv {
    name = "fod-sha512-sri"; args = [ "-c" "echo hi > $out" ];
    outputHash = sha512Sri;
  };
  fodSha512Nix32 = drv {
    name = "fod-sha512-nix32"; args = [ "-c" "echo hi > $out" ];
    outputHashMode = "recursive"; outputHashAlgo = "sha512";
    outputHash = "286d487i8lq67wqcqplf1pj3z1sbyklqk47y05528qxxdd49m50lw2hjhvkj5f52rpdcfw2g36g4iar2fc1ym646cmypgm25xr8pf8p";
  };
  fodMd5 = drv {
    name = "fod-md5"; args = [ "-c" "echo hi > $out" ];
    outputHashAlgo = "md5"; outputHash = builtins.hashString "md5" hi;
  };
  fodBase16Prefixed = drv {
    name = "fod-base16-prefixed"; args = [ "-c" "echo hi > $out" ];
    outputHash = "sha256:" + builtins.hashString "sha256" hi;
  };
  # Two different FODs with the same output path: their modulo hashes are
  # equal, so hashDerivationModulo merges them into one input.
  twinA = drv {
    name = "twin"; args = [ "-c" "echo hi > $out" ];
    outputHashAlgo = "sha256"; outputHash = builtins.hashString "sha256" hi;
  };
  twinB = drv {
    name = "twin"; args = [ "-c" "printf 'hi\\n' > $out" ];
    outputHashAlgo = "sha256"; outputHash = builtins.hashString "sha256" hi;
  };
  depOnTwins = drv {
    name = "dep-on-twins";
    args = [ "-c" "cat ${twinA} ${twinB} > $out" ];
  };
  # Several outputs of one input, and a structured-attrs multi-output drv.
  depOnOutputs = drv {
    name = "dep-on-outputs";
    args = [ "-c" "cat ${threeOutputs.lib} ${threeOutputs.bin} ${threeOutputs.out} ${fodMd5} > $out" ];
    inherit (threeOutputs) lib;
  };
  structuredMulti = drv {
    name = "structured-multi";
    __structuredAttrs = true;
    outputs = [ "out" "doc" ];
    nested = { list = [ 1 "two" { three = 3.5; } null true ]; str = "é\n\"x\""; };
    dep = depOnOutputs;
    args = [ "-c" "true" ];
  };
  # A text file with a reference as an input source.
  withToFile = drv {
    name = "with-to-file";
    args = [ "-c" "cat ${builtins.toFile "script.sh" "cat ${builtins.toFile "data" "x"}"} > $out" ];
  };
}
