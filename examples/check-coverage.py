#!/usr/bin/env python3
"""examples/check-coverage.py: does every binding cover the whole C API?

Lists every function exported by include/smtpclient.h and, for each of the four bindings
(C++ include/smtpclient.hpp, Go examples/go/smtpclient, Ruby examples/ruby/smtpclient/lib,
Node examples/node/index.js), checks that the binding calls it, or names it in its short
NOT_WRAPPED list below with the reason. Fails (exit 1) when a function is neither, when a
NOT_WRAPPED entry is not an exported function, or when a binding calls a function it also
lists as not wrapped (a stale entry).

"Calls" means a call in code, not a mention in a comment: `C.smtp_x` in Go (or `smtp_x(` in
a cgo preamble's C code), `Native.smtp_x` in Ruby, `C.smtp_x` in Node, `smtp_x(` in C++
outside comments.

Usage: python3 examples/check-coverage.py [--verbose]   (run by examples/run-consumers.sh)
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEADER = ROOT / "include" / "smtpclient.h"

# The non-blocking API (smtp_client_start_*, step, fd, events, timeout_ms, in_progress).
NONBLOCKING = [
    "smtp_client_start_connect", "smtp_client_start_ehlo_or_helo_if_needed",
    "smtp_client_start_starttls", "smtp_client_start_login", "smtp_client_start_sendmail",
    "smtp_client_start_sendmail_stream", "smtp_client_start_send_message",
    "smtp_client_start_quit", "smtp_client_step", "smtp_client_fd", "smtp_client_events",
    "smtp_client_timeout_ms", "smtp_client_in_progress",
]
GO_NONBLOCKING = (
    "non-blocking API: goroutines make the blocking calls the idiomatic form (the runtime "
    "runs a goroutine blocked in C on its own thread and keeps running the others); a poll "
    "loop of the binding's own could not join Go's network poller"
)
NODE_NONBLOCKING = (
    "non-blocking API: koffi cannot add a raw descriptor to libuv's event loop, so waiting "
    "for smtp_client_fd() would take a native addon or a worker thread running a second "
    "event loop that every call and callback of a session must cross; each blocking call "
    "runs on libuv's thread pool instead (koffi async calls), and the event loop never blocks"
)

# The sender (smtp_sender_*).
SENDER = [
    "smtp_sender_new", "smtp_sender_free", "smtp_sender_set_url", "smtp_sender_set_tls_ca_file",
    "smtp_sender_set_timeout_ms", "smtp_sender_set_max_connections",
    "smtp_sender_set_max_messages_per_connection", "smtp_sender_set_retries", "smtp_sender_add",
    "smtp_sender_step", "smtp_sender_run", "smtp_sender_fd", "smtp_sender_timeout_ms",
    "smtp_sender_next_outcome", "smtp_sender_outcome_id", "smtp_sender_outcome_kind",
    "smtp_sender_outcome_result", "smtp_sender_outcome_error_message",
    "smtp_sender_outcome_reply_code", "smtp_sender_outcome_recipient_count",
    "smtp_sender_outcome_recipient_get", "smtp_sender_last_error_message",
]
SENDER_NEW = "the sender's C API is new; the bindings do not wrap it yet"


# Functions a binding deliberately does not call, with the reason. Keep these short and true.
NOT_WRAPPED = {
    "cpp": {
        "smtp_client_last_result": "every call's result is returned by the call itself and "
        "thrown as an exception; the getter would only repeat it",
        **{f: SENDER_NEW for f in SENDER},
    },
    "go": {
        "smtp_client_last_result": "every call's result is returned by the call itself as an "
        "error; the getter would only repeat it",
        **{f: GO_NONBLOCKING for f in NONBLOCKING},
        **{f: SENDER_NEW for f in SENDER},
    },
    "ruby": {
        "smtp_client_last_result": "every call's result is raised by the call itself as an "
        "exception; the getter would only repeat it",
        "smtp_client_start_sendmail_stream": "sendmail_stream's body comes from a Ruby IO or "
        "block, which under a Fiber scheduler would itself yield inside the library's read "
        "callback; sendmail_stream keeps the blocking call",
        **{f: SENDER_NEW for f in SENDER},
    },
    "node": {
        "smtp_client_last_result": "every call's result settles its Promise (rejected with "
        "an SmtpError); the getter would only repeat it",
        **{f: NODE_NONBLOCKING for f in NONBLOCKING},
        **{f: SENDER_NEW for f in SENDER},
    },
}


def strip_c_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def exported_functions():
    code = strip_c_comments(HEADER.read_text())
    # A declaration names the function right before its "(": callback typedefs are
    # "(*smtp_x)(" and do not match.
    names = sorted(set(re.findall(r"\b(smtp_[a-z0-9_]+)\s*\(", code)))
    if len(names) < 50:
        sys.exit(f"check-coverage: only {len(names)} functions found in {HEADER}: the parser is broken")
    return names


def go_calls():
    used = set()
    for path in sorted((ROOT / "examples/go/smtpclient").glob("*.go")):
        if path.name.endswith("_test.go"):
            continue
        text = path.read_text()
        # The cgo preamble (the comment right before import "C") is C code: its calls count.
        for preamble in re.findall(r"/\*(.*?)\*/\s*import \"C\"", text, flags=re.S):
            used |= set(re.findall(r"\b(smtp_[a-z0-9_]+)\s*\(", strip_c_comments(preamble)))
        used |= set(re.findall(r"\bC\.(smtp_[a-z0-9_]+)\b", strip_c_comments(text)))
    return used


def ruby_calls():
    used = set()
    for path in sorted((ROOT / "examples/ruby/smtpclient/lib").rglob("*.rb")):
        code = re.sub(r"#[^\n{]*$", " ", path.read_text(), flags=re.M)  # line comments
        used |= set(re.findall(r"\bNative\.(smtp_[a-z0-9_]+)\b", code))
        used |= set(re.findall(r"\bNative\.method\(:(smtp_[a-z0-9_]+)\)", code))
    return used


def node_calls():
    code = strip_c_comments((ROOT / "examples/node/index.js").read_text())
    used = set(re.findall(r"\bC\.(smtp_[a-z0-9_]+)\b", code))
    # The stream worker loads the library on its own thread.
    worker = ROOT / "examples/node/stream-worker.js"
    if worker.exists():
        used |= set(re.findall(r"\bC\.(smtp_[a-z0-9_]+)\b", strip_c_comments(worker.read_text())))
    return used


def cpp_calls():
    code = strip_c_comments((ROOT / "include/smtpclient.hpp").read_text())
    return set(re.findall(r"\b(smtp_[a-z0-9_]+)\s*\(", code))


BINDINGS = {"cpp": cpp_calls, "go": go_calls, "ruby": ruby_calls, "node": node_calls}


def main():
    verbose = "--verbose" in sys.argv[1:]
    exported = exported_functions()
    failures = 0
    for name, calls in BINDINGS.items():
        used = calls()
        skipped = NOT_WRAPPED[name]
        missing = [f for f in exported if f not in used and f not in skipped]
        stale = [f for f in skipped if f in used]
        unknown = [f for f in skipped if f not in exported]
        empty = [f for f, why in skipped.items() if not why.strip()]
        covered = sum(1 for f in exported if f in used)
        status = "ok" if not (missing or stale or unknown or empty) else "FAIL"
        print(f"check-coverage: {name}: {covered}/{len(exported)} called, {len(skipped)} not wrapped: {status}")
        for f in missing:
            print(f"  {name}: {f} is neither called nor listed as not wrapped (with a reason)")
        for f in stale:
            print(f"  {name}: {f} is listed as not wrapped but is called: remove it from NOT_WRAPPED")
        for f in unknown:
            print(f"  {name}: {f} is listed as not wrapped but the header exports no such function")
        for f in empty:
            print(f"  {name}: {f} is listed as not wrapped without a reason")
        if verbose:
            for f, why in sorted(skipped.items()):
                print(f"  {name}: not wrapped: {f}: {why}")
        if status != "ok":
            failures += 1
    print(f"check-coverage: {len(exported)} exported functions, {failures} binding(s) incomplete")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
