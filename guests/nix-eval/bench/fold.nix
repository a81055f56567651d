builtins.foldl' (a: b: a + b) 0 (builtins.genList (i: i) 1000000)
