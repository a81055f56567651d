# What `evalbox instantiate` must write exactly as `nix-instantiate` (Nix 2.8) does: every
# derivation kind of drvs.nix, and the store effects of evaluation itself (sources copied by
# interpolation and `builtins.path`, filters, `toFile` with references, string contexts).
# The test copies this file, drvs.nix and a generated `tree/` (an executable, a symlink, an
# empty directory, nested files) into one directory and instantiates each attribute there.
let
  sys = "x86_64-linux";
  mk = attrs: derivation ({ system = sys; builder = "/bin/sh"; args = [ "-c" "echo $name > $out" ]; } // attrs);
  drvs = import ./drvs.nix;
  greeting = builtins.toFile "greeting.txt" "hello\n";
in drvs // rec {
  source = mk { name = "source"; src = ./tree; };
  sourceFile = mk { name = "source-file"; src = ./tree/a.txt; exe = ./tree/bin/run.sh; };
  sourceSymlink = mk { name = "source-symlink"; link = ./tree/link; };
  interpolated = mk { name = "interpolated"; script = "cat ${./tree/a.txt} ${./tree/sub}"; };
  pathNamed = mk { name = "path-named"; src = builtins.path { path = ./tree; name = "renamed"; }; };
  pathFlat = mk { name = "path-flat"; src = builtins.path { path = ./tree/a.txt; recursive = false; }; };
  pathFiltered = mk {
    name = "path-filtered";
    src = builtins.path {
      path = ./tree;
      name = "filtered";
      filter = p: t: t != "symlink" && baseNameOf p != "b.txt";
    };
  };
  filterSource = mk { name = "filter-source"; src = builtins.filterSource (p: t: t == "directory" || builtins.match ".*\\.txt" p != null) ./tree; };
  pathWithHash = mk {
    name = "path-with-hash";
    src = builtins.path { path = ./tree/a.txt; sha256 = builtins.hashFile "sha256" ./tree/a.txt; recursive = false; };
  };
  toFileRefs = mk { name = "to-file-refs"; f = builtins.toFile "refs" "${greeting} ${./tree/a.txt}"; };
  placeholders = mk { name = "placeholders"; outputs = [ "out" "bin" ]; p = "${placeholder "out"} ${placeholder "bin"}"; };
  discarded = mk { name = "discarded"; x = builtins.unsafeDiscardOutputDependency drvs.multi.drvPath; };
  wholeDrv = mk { name = "whole-drv"; x = drvs.multi.drvPath; };
  appended = mk {
    name = "appended";
    x = builtins.appendContext "" {
      ${builtins.unsafeDiscardStringContext drvs.multi.drvPath} = { outputs = [ "lib" ]; };
      ${builtins.unsafeDiscardStringContext greeting} = { path = true; };
    };
  };
  nonDefaultOutput = drvs.multi.dev;
  list = [ drvs.simple drvs.multi.lib (mk { name = "in-list"; }) ];
  nested = { recurseForDerivations = true; a = drvs.simple; b = { recurseForDerivations = true; c = drvs.dep; }; d = { e = drvs.escapes; }; };
}
