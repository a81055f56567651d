"""The sandbox escape suite for a Python guest (componentize-py, CPython for WASI): each
attempt prints one line; any line with ESCAPED is an escape. Usage: probe GRANTED_DIR ADDR.

Everything happens in `run`: module-level code would run when the component is built
(componentize-py initialises the interpreter ahead of time), not in the sandbox."""

import os
import random
import socket
import sys
import time

import evalbox_guest as eb
from wit_world import exports


def attempt(label, action):
    try:
        result = action()
    except Exception as e:  # every failure is the expected outcome
        print(f"{label}: refused ({type(e).__name__})")
    else:
        print(f"ESCAPED {label}: {result!r}")


class Run(exports.Run):
    def run(self) -> None:
        granted, addr = sys.argv[1], sys.argv[2]
        host, port = addr.rsplit(":", 1)
        attempt("tcp", lambda: socket.socket().connect((host, int(port))))
        attempt("tcp by name", lambda: socket.create_connection((host, int(port)), timeout=1))
        attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", (host, int(port))))
        attempt("lookup", lambda: socket.getaddrinfo("localhost", 80))
        attempt("write", lambda: open(os.path.join(granted, "written"), "w").write("x"))
        attempt("mkdir", lambda: os.mkdir(os.path.join(granted, "made")))
        attempt("read outside", lambda: open("/etc/hostname").read())
        attempt("list outside", lambda: os.listdir("/"))
        print(f"granted read: {open(os.path.join(granted, 'visible.txt')).read().strip()}")
        # Nix, evaluated for the guest in a nested sandbox, sees what the guest sees.
        attempt("nix read outside", lambda: eb.nix_eval(expr="builtins.readFile /etc/hostname"))
        attempt("nix list outside", lambda: eb.nix_eval(expr="builtins.readDir /"))
        print(f"nix granted read: {eb.nix_eval(expr=f'builtins.readFile {granted}/visible.txt')!r}")
        print(f"nix environment: {eb.nix_eval(expr='builtins.getEnv \"SECRET\"')!r}")
        print(f"environment: {sorted(os.environ)}")
        print(f"wall clock: {time.time()}")
        print(f"random: {os.urandom(8).hex()} {random.SystemRandom().random()}")
