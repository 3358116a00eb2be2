#!/usr/bin/env bash
# scripts/check-rust-version.sh - fail unless Cargo.toml's `rust-version` is exactly what the build
# really needs: the highest `rust-version` declared by any locked dependency (from `cargo metadata
# --locked`), or the crate's own floor when that is higher.
#
# The crate's own floor is 1.77: C string literals (c"...") in the C layer and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

OWN_FLOOR=1.77

cargo metadata --locked --format-version 1 | OWN_FLOOR=$OWN_FLOOR python3 -c '
import json, os, sys

def key(v):
    return tuple(int(x) for x in v.split("."))

def short(v):
    # "1.80.0" and "1.80" name the same floor; compare and print without a trailing ".0"
    parts = v.split(".")
    while len(parts) > 2 and parts[-1] == "0":
        parts.pop()
    return ".".join(parts)

meta = json.load(sys.stdin)
root = meta["resolve"]["root"]
declared = None
needed, why = os.environ["OWN_FLOOR"], "the crate itself (C string literals)"
for pkg in meta["packages"]:
    rv = pkg.get("rust_version")
    if pkg["id"] == root:
        declared = rv
    elif rv and key(short(rv)) > key(short(needed)):
        needed, why = rv, "%s %s" % (pkg["name"], pkg["version"])
if declared is None:
    sys.exit("check-rust-version: Cargo.toml declares no rust-version")
if short(declared) != short(needed):
    sys.exit("check-rust-version: Cargo.toml says rust-version = \"%s\" but the locked build needs %s (%s)"
             % (declared, short(needed), why))
print("check-rust-version: rust-version %s, set by %s" % (short(declared), why))
'
