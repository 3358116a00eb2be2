#!/usr/bin/env python3
"""The crates linked into libsmtpclient, from `cargo metadata` on stdin: normal dependencies for
the host platform, without proc-macro crates and what only they use (those run in the compiler
and leave nothing in the library).

    linked-crates.py                    print "name license" for each, one a line
    linked-crates.py debian/copyright   fail unless the copyright file names every such crate
                                        and has a License paragraph for each of its licenses
"""
import json
import re
import sys

meta = json.load(sys.stdin)
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
packages = {p["id"]: p for p in meta["packages"]}


def is_proc_macro(pid):
    return any("proc-macro" in t["kind"] for t in packages[pid]["targets"])


seen = set()
todo = [meta["resolve"]["root"]]
while todo:
    for dep in nodes[todo.pop()]["deps"]:
        normal = any(k["kind"] in (None, "normal") for k in dep["dep_kinds"])
        if normal and dep["pkg"] not in seen and not is_proc_macro(dep["pkg"]):
            seen.add(dep["pkg"])
            todo.append(dep["pkg"])
crates = sorted((packages[p]["name"], packages[p]["license"] or "") for p in seen)
if len(sys.argv) < 2:
    for name, lic in crates:
        print(name, lic)
    sys.exit(0)

with open(sys.argv[1], encoding="utf-8") as fh:
    copyright_text = fh.read()
licenses = set(re.findall(r"^License: (\S+)\s*$", copyright_text, re.M))
problems = []
for name, lic in crates:
    if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(name), copyright_text):
        problems.append("%s (%s) is not named" % (name, lic))
    for ident in re.split(r"\s+(?:OR|AND)\s+|/|[()]", lic):
        if ident.strip() and ident.strip() not in licenses:
            problems.append("%s: no 'License: %s' paragraph" % (name, ident.strip()))
if problems:
    print("%s is incomplete for the linked crates:\n  %s" % (sys.argv[1], "\n  ".join(problems)))
    sys.exit(1)
print("%s names all %d linked crates; their licenses: %s" % (sys.argv[1], len(crates), ", ".join(sorted(licenses))))
