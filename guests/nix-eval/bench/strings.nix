let s = builtins.concatStringsSep "" (builtins.genList (i: "ab${toString i}c") 20000);
in builtins.stringLength (builtins.replaceStrings ["a" "bc" "1"] ["xyz" "" "one"] s)
