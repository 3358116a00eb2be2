#!/usr/bin/env python3
"""The result codes each function's documentation in smtpclient.h lists, for the checks that
a function never returns a code its documentation does not list (tests/c/gen_borrow_matrix.py,
tests/capi_null.rs).

    documented_codes.py HEADER      prints one line per function: NAME CODE CODE ...
    documented_codes.py --own HEADER
                                    the same for the functions that return `smtp_result` only,
                                    with each function's own list (no GENERIC_CODES, no OK
                                    unless its documentation names it): the pairs
                                    tests/capi_error_lists.rs provokes one by one

A listed code also covers its kinds (smtp_result_is_a), "connection errors" expands as the
header's overview defines it, "Errors as `smtp_x()`" (or "Then as") includes that function's
list, and every function may also return the GENERIC_CODES (the overview says so).
"""
import re
import sys

# Codes any session function may return besides those its documentation lists: the header's
# overview says so for all of them.
GENERIC_CODES = ["NULL_ARGUMENT", "INVALID_UTF8", "BAD_HANDLE", "REENTRANT_CALL", "CONCURRENT_CALL", "PANIC"]
# What "connection errors" means in a function's documentation (the header's overview).
CONNECTION_ERRORS = ["SERVER_DISCONNECTED", "TIMEOUT", "IO_ERROR", "PROTOCOL_ERROR", "TLS_RECORD"]


def documented_codes(header):
    """{function: set of result names its doc comment lists}, with "connection errors" and
    "Errors as `smtp_x()`" resolved."""
    names = set(re.findall(r"\bSMTP_RESULT_([A-Z0-9_]+) =", header))
    docs, refs = {}, {}
    for m in re.finditer(r"/\*\*((?:(?!\*/).)*)\*/\s*(?:SMTPCLIENT_WARN_UNUSED\s+)?[\w \*]*?\b(smtp_\w+)\(", header, re.S):
        doc, fn = m.group(1), m.group(2)
        codes = {c for c in re.findall(r"`(?:SMTP_RESULT_)?([A-Z][A-Z0-9_]+)`", doc) if c in names}
        if re.search(r"connection\s+errors", doc):
            codes |= set(CONNECTION_ERRORS)
        docs[fn] = codes
        refs[fn] = re.findall(r"(?:[Ee]rrors|[Tt]hen)\s+as\s+`(smtp_\w+)\(\)`", doc)
    def resolve(fn, seen=()):
        out = set(docs.get(fn, ()))
        for r in refs.get(fn, ()):
            if r not in seen:
                out |= resolve(r, seen + (fn,))
        return out
    return {fn: resolve(fn) for fn in docs}



def result_functions(header):
    """The names of the functions declared to return `smtp_result`."""
    return set(re.findall(r"\bsmtp_result\s+(smtp_\w+)\(", header))


def main():
    own = sys.argv[1] == "--own"
    header = open(sys.argv[-1]).read()
    returning = result_functions(header)
    for fn, codes in sorted(documented_codes(header).items()):
        if own:
            if fn in returning:
                print(fn, *sorted(codes))
        else:
            print(fn, *sorted(codes | set(GENERIC_CODES) | {"OK"}))


if __name__ == "__main__":
    main()
