#!/usr/bin/env python3
"""Python smtplib as a point of comparison.

usage: smtplib_client.py HOST PORT small COUNT THREADS   COUNT small messages, THREADS sessions
       smtplib_client.py HOST PORT big   MBYTES 1        one MBYTES MB message from memory

Each thread keeps one connection and calls sendmail() in a loop (smtplib never pipelines
nor uses BDAT; it dot-stuffs and normalises line ends itself). Prints one RESULT line in the
same format as the C clients; timing covers connect to QUIT.
"""
import resource
import smtplib
import sys
import threading
import time

SMALL = (b'From: <a@example.test>\r\n'
         b'To: <b@example.test>\r\n'
         b'Date: Sun, 29 Nov 2026 14:55:54 +0000 (UTC)\r\n'
         b'Message-Id: <59df.0003.0000@bench.example.test>\r\n'
         b'\r\n'
         b'La de da de da 1.\r\n'
         b'La de da de da 2.\r\n'
         b'La de da de da 3.\r\n'
         b'La de da de da 4.\r\n')
BIG_HEADER = b'From: <a@example.test>\r\nTo: <b@example.test>\r\nSubject: big\r\n\r\n'
LINE = b'x' * 76 + b'\r\n'


def session(host, port, msg, count, errors):
    try:
        s = smtplib.SMTP(host, port, local_hostname='bench.example.test')
        for _ in range(count):
            s.sendmail('a@example.test', ['b@example.test'], msg)
        s.quit()
    except Exception as e:  # reported by the main thread
        errors.append(e)


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    host, port, mode, count, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    if mode == 'small':
        msg, msgs = SMALL, count
    elif mode == 'big':
        target = count * 1000000
        msg = BIG_HEADER + LINE * ((target - len(BIG_HEADER)) // len(LINE))
        msgs, threads = 1, 1
    else:
        sys.exit(__doc__)
    errors = []
    shares = [msgs // threads + (1 if i < msgs % threads else 0) for i in range(threads)]
    t0 = time.perf_counter()
    if threads == 1:
        session(host, port, msg, shares[0], errors)
    else:
        ts = [threading.Thread(target=session, args=(host, port, msg, n, errors)) for n in shares]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    dt = time.perf_counter() - t0
    if errors:
        sys.exit(f'smtplib_client: {errors[0]!r}')
    ru = resource.getrusage(resource.RUSAGE_SELF)
    nbytes = msgs * len(msg)
    print(f'RESULT msgs={msgs} bytes={nbytes} seconds={dt:.6f} rate={msgs / dt:.1f} '
          f'mbps={nbytes / 1e6 / dt:.2f} rss_kb={ru.ru_maxrss} cpu={ru.ru_utime + ru.ru_stime:.3f}', flush=True)


if __name__ == '__main__':
    main()
