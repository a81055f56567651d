# The native stub has no Nix evaluator (the benchmarked frontend asks for none): asking fails.


def evaluate(what):
    raise NotImplementedError("the native stub does not evaluate Nix")
