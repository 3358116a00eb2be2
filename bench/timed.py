#!/usr/bin/env python3
"""Time a program that reports nothing itself (smtp-source) and print the benchmark's RESULT line.

usage: timed.py MSGS BYTES COMMAND [ARGS...]

Wall time runs from just before the fork to the child's exit; peak RSS and CPU time are the
child's own (wait4). MSGS and BYTES are what the command sends, for the rate columns.
"""
import os
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    msgs, nbytes, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    p.returncode = code
    if code != 0:
        sys.exit(f'timed.py: {cmd[0]} exited with {code}')
    print(f'RESULT msgs={msgs} bytes={nbytes} seconds={dt:.6f} rate={msgs / dt:.1f} '
          f'mbps={nbytes / 1e6 / dt:.2f} rss_kb={ru.ru_maxrss} cpu={ru.ru_utime + ru.ru_stime:.3f}', flush=True)


if __name__ == '__main__':
    main()
