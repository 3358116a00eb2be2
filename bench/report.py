#!/usr/bin/env python3
"""Turn bench/run.sh's raw runs into bench/results.md, bench/results.png and the README table.

Input (--tsv): one line per run: REP PIN SINK TEST CLIENT "key=value ..." (or FAILED), as
written by run.sh. Figures are medians over the repetitions; ratios compare medians of the same
test, sink and pinning mode, so every ratio comes from the same run of the benchmark.
"""
import argparse
import datetime
import os
import platform
import re
import statistics
import subprocess
from collections import defaultdict

CLIENT_NAMES = {
    'lib-pipe': 'libsmtpclient, pipelining',
    'lib-nopipe': 'libsmtpclient, no pipelining',
    'lib-bdat': 'libsmtpclient, BDAT + pipelining',
    'smtp-source': 'Postfix smtp-source',
    'smtplib': 'Python smtplib',
    'curl': 'libcurl (one easy handle)',
    'raw-data': 'raw socket, DATA',
    'raw-bdat': 'raw socket, BDAT',
}
SINK_NAMES = {'smtp-sink': 'smtp-sink', 'discard': 'discard sink'}
SMALL_ORDER = ['lib-pipe', 'lib-bdat', 'lib-nopipe', 'smtp-source', 'smtplib', 'curl']
BIG_ORDER = ['raw-data', 'raw-bdat', 'lib-pipe', 'lib-bdat', 'smtp-source', 'smtplib', 'curl']
BEGIN, END = '<!-- results:begin (written by bench/report.py) -->', '<!-- results:end -->'


OTHER_MAX = 0.15  # as in run.sh: a run during which other work took more of the machine is "disturbed"


def parse_tsv(path):
    """{(test, sink, pin, client): [every attempt's run dict]} and the list of failed cases."""
    runs, failed = defaultdict(list), []
    with open(path) as f:
        for line in f:
            parts = line.rstrip('\n').split('\t')
            if len(parts) < 6:
                continue
            rep, pin, sink, test, client, rest = parts[:6]
            if rest == 'FAILED':
                failed.append((test, sink, pin, client, rep))
                continue
            kv = dict(p.split('=', 1) for p in rest.split())
            run = {k: float(v) for k, v in kv.items()}
            run['rep'] = int(rep)
            runs[(test, sink, pin, client)].append(run)
    return runs, failed


def best_attempts(all_runs):
    """One run per repetition: the attempt that other work disturbed least."""
    out = {}
    for key, rs in all_runs.items():
        by_rep = defaultdict(list)
        for r in rs:
            by_rep[r['rep']].append(r)
        out[key] = [min(v, key=lambda r: r.get('other', 0.0)) for _, v in sorted(by_rep.items())]
    return out


def disturbed(r):
    return r.get('other', 0.0) > OTHER_MAX


class Figures:
    def __init__(self, runs):
        self.runs = runs

    def values(self, key, field):
        return [r[field] for r in self.runs.get(key, [])]

    def median(self, key, field):
        v = self.values(key, field)
        return statistics.median(v) if v else None

    def rate(self, test, sink, pin, client):
        field = 'rate' if test.startswith('small') else 'mbps'
        return self.median((test, sink, pin, client), field)

    def ratio(self, test, sink, pin, client, base):
        a, b = self.rate(test, sink, pin, client), self.rate(test, sink, pin, base)
        return a / b if a and b else None

    def rep_ratios(self, test, sink, pin, client, base):
        """The ratio within each repetition (runs close in time share the machine's background load)."""
        field = 'rate' if test.startswith('small') else 'mbps'
        a = {r['rep']: r[field] for r in self.runs.get((test, sink, pin, client), [])}
        b = {r['rep']: r[field] for r in self.runs.get((test, sink, pin, base), [])}
        return [a[k] / b[k] for k in sorted(a) if k in b and b[k]]

    def us_per_msg(self, key, field):
        """Median CPU time per message in µs: the client's ('cpu') or the sink's ('sink_cpu')."""
        v = [r[field] / r['msgs'] * 1e6 for r in self.runs.get(key, []) if field in r]
        return statistics.median(v) if v else None

    def max_rss_mb(self, key):
        v = self.values(key, 'rss_kb')
        return max(v) * 1024 / 1e6 if v else None


def size_label(mb):
    """'1000' -> '1 GB', '100' -> '100 MB' (1 MB = 10^6 bytes)."""
    try:
        n = int(mb)
    except ValueError:
        return f'{mb} MB'
    return f'{n // 1000} GB' if n >= 1000 and n % 1000 == 0 else f'{n} MB'


def fmt_rate(x, digits=0):
    return '–' if x is None else f'{x:,.{digits}f}'.replace(',', '\u202f')


def fmt_ratio(x):
    return '–' if x is None else f'{x:.2f}×'


def fmt_runs(runs, field, digits=0):
    """The runs' figures in repetition order; * marks a run that other work disturbed."""
    return ' / '.join(f'{r[field]:.{digits}f}' + ('*' if disturbed(r) else '') for r in runs)


# ---------------------------------------------------------------- tables

def small_table(fig, test, pins=('unpinned', 'pinned')):
    cpu_pin = pins[-1]
    head = ['client', 'sink']
    for pin in pins:
        head += [f'{pin} msgs/s', '× smtp-source', '× smtplib']
    head += [f'client CPU µs/msg, {cpu_pin}', f'sink CPU µs/msg, {cpu_pin}'] + [f'runs {pin}' for pin in pins]
    rows = ['| ' + ' | '.join(head) + ' |',
            '| --- | --- |' + ' ---: |' * (3 * len(pins) + 2) + ' --- |' * len(pins)]
    for sink in ('smtp-sink', 'discard'):
        for c in SMALL_ORDER:
            if not fig.runs.get((test, sink, 'unpinned', c)) and not fig.runs.get((test, sink, 'pinned', c)):
                continue
            cells = [CLIENT_NAMES[c], SINK_NAMES[sink]]
            for pin in pins:
                cells += [fmt_rate(fig.rate(test, sink, pin, c)),
                          fmt_ratio(fig.ratio(test, sink, pin, c, 'smtp-source')),
                          fmt_ratio(fig.ratio(test, sink, pin, c, 'smtplib'))]
            for field in ('cpu', 'sink_cpu'):
                us = fig.us_per_msg((test, sink, cpu_pin, c), field)
                cells.append('–' if us is None else f'{us:.1f}')
            cells += [fmt_runs(fig.runs.get((test, sink, pin, c), []), 'rate') for pin in pins]
            name = f'**{cells[0]}**' if c.startswith('lib') else cells[0]
            rows.append('| ' + ' | '.join([name] + cells[1:]) + ' |')
    return '\n'.join(rows)


def big_table(fig):
    rows = ['| client | sink | MB/s | × raw socket | × smtp-source | × smtplib | peak RSS MB | runs MB/s |',
            '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |']
    for sink in ('smtp-sink', 'discard'):
        for c in BIG_ORDER:
            key = ('big', sink, 'unpinned', c)
            if not fig.runs.get(key):
                continue
            raw = 'raw-bdat' if c in ('lib-bdat', 'raw-bdat') else 'raw-data'
            cells = [CLIENT_NAMES[c].replace('pipelining', 'DATA') if c == 'lib-pipe' else CLIENT_NAMES[c],
                     SINK_NAMES[sink], fmt_rate(fig.rate('big', sink, 'unpinned', c), 0),
                     fmt_ratio(fig.ratio('big', sink, 'unpinned', c, raw)),
                     fmt_ratio(fig.ratio('big', sink, 'unpinned', c, 'smtp-source')),
                     fmt_ratio(fig.ratio('big', sink, 'unpinned', c, 'smtplib')),
                     f'{fig.max_rss_mb(key):.1f}', fmt_runs(fig.runs[key], 'mbps')]
            if c.startswith('lib'):
                cells[0] = f'**{cells[0]}**'
            rows.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(rows)


def stream_table(fig):
    rows = ['| client | sink | MB/s | peak RSS MB (max of runs) | client CPU s | runs MB/s |',
            '| --- | --- | ---: | ---: | ---: | --- |']
    for sink in ('smtp-sink', 'discard'):
        for c in ('lib-pipe', 'lib-bdat'):
            key = ('stream', sink, 'unpinned', c)
            if not fig.runs.get(key):
                continue
            name = 'libsmtpclient, DATA' if c == 'lib-pipe' else 'libsmtpclient, BDAT'
            cpu = fig.median(key, 'cpu')
            rows.append(f'| **{name}** | {SINK_NAMES[sink]} | {fmt_rate(fig.rate("stream", sink, "unpinned", c))} | '
                        f'{fig.max_rss_mb(key):.1f} | {"–" if cpu is None else f"{cpu:.2f}"} | '
                        f'{fmt_runs(fig.runs[key], "mbps")} |')
    return '\n'.join(rows)


# ---------------------------------------------------------------- targets

def targets(fig):
    """[(target, case, required, measured text, met, shortfall text)]"""
    out = []

    def ratio_target(label, test, sink, pin, client, base, need):
        r = fig.ratio(test, sink, pin, client, base)
        name = 'libsmtpclient, DATA' if (test, client) == ('big', 'lib-pipe') else CLIENT_NAMES[client]
        case = f'{name} vs {CLIENT_NAMES[base]}, {SINK_NAMES[sink]}, {pin}'
        if r is None:
            out.append((label, case, f'≥ {need:g}×', 'not measured', '', False, 'no figure'))
            return
        met = r >= need
        short = '' if met else f'{(1 - r / need) * 100:.1f} % short ({r:.2f}× of {need:g}×)'
        per_rep = ' / '.join(f'{x:.2f}' for x in fig.rep_ratios(test, sink, pin, client, base))
        out.append((label, case, f'≥ {need:g}×', f'{r:.2f}×', per_rep, met, short))

    for sink in ('smtp-sink', 'discard'):
        for pin in ('unpinned', 'pinned'):
            for base in ('smtp-source', 'smtplib'):
                ratio_target('1 connection, small, pipelining on', 'small1', sink, pin, 'lib-pipe', base, 2.0)
    for pin in ('unpinned', 'pinned'):
        ratio_target('1 connection, small, BDAT (sink offers CHUNKING)', 'small1', 'discard', pin, 'lib-bdat',
                     'smtp-source', 3.0)
    for sink in ('smtp-sink', 'discard'):
        for pin in ('unpinned', 'pinned'):
            ratio_target('1 connection, small, pipelining off', 'small1', sink, pin, 'lib-nopipe', 'smtp-source', 1.0)
    for sink, client, raw in (('smtp-sink', 'lib-pipe', 'raw-data'), ('discard', 'lib-pipe', 'raw-data'),
                              ('discard', 'lib-bdat', 'raw-bdat')):
        ratio_target('large message from memory vs raw socket', 'big', sink, 'unpinned', client, raw, 0.8)
    for sink, client in (('smtp-sink', 'lib-pipe'), ('discard', 'lib-pipe'), ('discard', 'lib-bdat')):
        key = ('stream', sink, 'unpinned', client)
        mb = fig.max_rss_mb(key)
        case = f'{"DATA" if client == "lib-pipe" else "BDAT"}, {SINK_NAMES[sink]}'
        if mb is None:
            out.append(('streamed message: peak RSS', case, '< 16 MB', 'not measured', '', False, 'no figure'))
        else:
            met = mb < 16.0
            per_rep = ' / '.join(f'{v * 1024 / 1e6:.1f}' for v in fig.values(key, 'rss_kb'))
            out.append(('streamed message: peak RSS', case, '< 16 MB', f'{mb:.1f} MB', per_rep, met,
                        '' if met else f'{mb - 16:.1f} MB over'))
    return out


def targets_summary(rows):
    """Plain sentences: which targets are missed and by how much."""
    missed = [r for r in rows if not r[5]]
    if not missed:
        return 'Every target is met.'
    return 'Missed:\n\n' + '\n'.join(f'- {r[0]}: {r[1]}: **{r[3]}**, {r[6]}' for r in missed)


def targets_table(rows):
    lines = ['| target | case | required | measured (ratio of medians) | per repetition | met? |',
             '| --- | --- | ---: | ---: | ---: | --- |']
    for label, case, need, got, per_rep, met, short in rows:
        lines.append(f'| {label} | {case} | {need} | {got} | {per_rep} | '
                     f'{"**met**" if met else "**missed**: " + short} |')
    return '\n'.join(lines)


# ---------------------------------------------------------------- profile

def profile_section(path, functions_path):
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return ''
    data = defaultdict(dict)
    with open(path) as f:
        for line in f:
            client, what, value = line.rstrip('\n').split('\t')
            data[client][what] = float(value)
    order = [c for c in ('lib-pipe', 'lib-bdat', 'lib-nopipe', 'smtp-source', 'curl') if c in data]
    calls = sorted({w for c in order for w in data[c] if w.startswith('syscall:')},
                   key=lambda w: -max(data[c].get(w, 0) for c in order))
    head = ['client', 'user-space instructions/msg', 'system calls/msg'] + [w.split(':', 1)[1] for w in calls]
    lines = ['| ' + ' | '.join(head) + ' |', '| --- |' + ' ---: |' * (len(head) - 1)]
    for c in order:
        total = sum(v for w, v in data[c].items() if w.startswith('syscall:'))
        cells = [CLIENT_NAMES[c], fmt_rate(data[c].get('instructions')), f'{total:.1f}']
        cells += [f'{data[c][w]:.2f}' if w in data[c] else '–' for w in calls]
        lines.append('| ' + ' | '.join(cells) + ' |')
    text = ('Client side only, per small message sent against the discard sink, start-up excluded: '
            '(cost of 3000 messages − cost of 1000) / 2000. Instructions: valgrind callgrind (user space, '
            'noise-free). System calls: strace -c -f.\n\n' + '\n'.join(lines) + '\n')
    if functions_path and os.path.exists(functions_path) and os.path.getsize(functions_path) > 0:
        funcs, seen = [], set()
        skip = ('PROGRAM TOTALS', 'start_thread', 'run_small', 'session_call', 'clone')
        with open(functions_path) as f:
            for line in f:
                m = re.match(r'\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(\S.*)', line)
                if not m:
                    continue
                name = re.sub(r'\s*\[[^\]]*\]\s*$', '', m.group(3))  # [object file]
                name = name.split(':', 1)[1] if ':' in name.split(' ')[0] and not name.startswith('<') else name
                name = re.sub(r'::h[0-9a-f]{16}', '', name)
                name = name.replace('smtpclient::', '').replace('<impl session::Session>::', 'Session::')
                if any(k in name for k in skip) or name in seen:
                    continue
                seen.add(name)
                funcs.append(f'{m.group(2):>6}%  {name[:110]}')
                if len(funcs) >= 20:
                    break
        if funcs:
            text += ('\nWhere libsmtpclient\'s user-space instructions go (pipelining, 3000 messages, inclusive, '
                     'callgrind):\n\n```\n' + '\n'.join(funcs) + '\n```\n')
    return text


def foreign_load(runs, cpu_ticks, clk_tck):
    """Share of the machine's CPU time during the measurements that went to other work: all busy
    time (/proc/stat) minus the clients' and sinks' own CPU time (approximate: start-up of the
    client programs counts as other work)."""
    try:
        b0, t0, b1, t1 = (float(x) for x in cpu_ticks.split())
        hz = float(clk_tck)
    except ValueError:
        return None
    ours = sum(r.get('cpu', 0) + r.get('sink_cpu', 0) for rs in runs.values() for r in rs) * hz
    total = t1 - t0
    return max(0.0, (b1 - b0 - ours) / total * 100) if total > 0 else None


def small_size(fig):
    for (test, _, _, client), rs in fig.runs.items():
        if test == 'small1' and client.startswith('lib') and rs and rs[0].get('msgs'):
            return f"{rs[0]['bytes'] / rs[0]['msgs']:.0f}"
    return '?'


# ---------------------------------------------------------------- machine

def machine(args):
    model = 'unknown CPU'
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
        m = re.search(r'^Model name:\s*(.+)$', out, re.M)
        if m:
            model = m.group(1).strip()
    except OSError:
        pass
    mem = ''
    try:
        with open('/proc/meminfo') as f:
            kb = int(re.search(r'MemTotal:\s+(\d+)', f.read()).group(1))
        mem = f', {kb / 1024 / 1024:.0f} GiB RAM'
    except (OSError, AttributeError):
        pass
    return f'{model}, {os.cpu_count()} CPUs{mem}, Linux {platform.release()}'


# ---------------------------------------------------------------- plot

def plot(fig, png, big_label):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    colors = {'lib-pipe': '#1f77b4', 'lib-bdat': '#17becf', 'lib-nopipe': '#aec7e8', 'smtp-source': '#d62728',
              'smtplib': '#2ca02c', 'curl': '#ff7f0e', 'raw-data': '#7f7f7f', 'raw-bdat': '#bcbd22'}
    f, axes = plt.subplots(1, 3, figsize=(17, 5.5), gridspec_kw={'width_ratios': [4, 2.5, 3]})
    for ax, test, title, pins in ((axes[0], 'small1', 'small messages, 1 connection', ('unpinned', 'pinned')),
                                  (axes[1], 'small4', 'small messages, 4 connections, unpinned', ('unpinned',))):
        groups = [(s, p) for s in ('smtp-sink', 'discard') for p in pins]
        width = 0.8 / len(SMALL_ORDER)
        for i, c in enumerate(SMALL_ORDER):
            xs, ys = [], []
            for g, (s, p) in enumerate(groups):
                v = fig.rate(test, s, p, c)
                if v is not None:
                    xs.append(g + (i - (len(SMALL_ORDER) - 1) / 2) * width)
                    ys.append(v)
            ax.bar(xs, ys, width, label=CLIENT_NAMES[c], color=colors[c])
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([f'{SINK_NAMES[s]}\n{p}' if len(pins) > 1 else SINK_NAMES[s] for s, p in groups])
        ax.set_ylabel('messages/s (median)')
        ax.set_title(title)
        ax.grid(axis='y', alpha=0.3)
    ax = axes[2]
    sinks = ('smtp-sink', 'discard')
    width = 0.8 / len(BIG_ORDER)
    for i, c in enumerate(BIG_ORDER):
        xs, ys = [], []
        for g, s in enumerate(sinks):
            v = fig.rate('big', s, 'unpinned', c)
            if v is not None:
                xs.append(g + (i - (len(BIG_ORDER) - 1) / 2) * width)
                ys.append(v)
        ax.bar(xs, ys, width, label=CLIENT_NAMES[c], color=colors[c])
    ax.set_xticks(range(len(sinks)))
    ax.set_xticklabels([SINK_NAMES[s] for s in sinks])
    ax.set_ylabel('MB/s (median)')
    ax.set_title(f'one {big_label} message, unpinned')
    ax.grid(axis='y', alpha=0.3)
    handles, labels = {}, []
    for a in axes:
        for h, label in zip(*a.get_legend_handles_labels()):
            if label not in handles:
                handles[label] = h
                labels.append(label)
    f.legend([handles[label] for label in labels], labels, loc='lower center', ncol=len(labels), fontsize=9,
             frameon=False)
    f.suptitle('libsmtpclient benchmark (bench/results.md)')
    f.tight_layout(rect=(0, 0.06, 1, 1))
    f.savefig(png, dpi=100)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--tsv', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--png', required=True)
    ap.add_argument('--readme')
    ap.add_argument('--profile')
    ap.add_argument('--profile-functions')
    ap.add_argument('--analysis', help='hand-written findings to include (markdown)')
    for a in ('repeat', 'small', 'big-mb', 'stream-mb', 'cpu', 'load-start', 'load-end', 'duration',
              'curl-version', 'python-version', 'postfix-version', 'library-version', 'commit', 'cpu-ticks',
              'clk-tck'):
        ap.add_argument('--' + a, default='?')
    args = ap.parse_args()

    all_runs, failed = parse_tsv(args.tsv)
    runs = best_attempts(all_runs)
    fig = Figures(runs)
    n_attempts = sum(len(v) for v in all_runs.values())
    n_runs = sum(len(v) for v in runs.values())
    n_disturbed = sum(1 for v in runs.values() for r in v if disturbed(r))
    tgt = targets(fig)
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    met = sum(1 for t in tgt if t[5])
    fl = foreign_load(all_runs, args.cpu_ticks, args.clk_tck)
    other = '?' if fl is None else f'{fl:.0f} %'

    results_tables = f"""### Small messages, one connection (msgs/s, median of {args.repeat})

{small_table(fig, 'small1')}

### Small messages, 4 connections in parallel (msgs/s in total; threads, one session each; unpinned)

{small_table(fig, 'small4', ('unpinned',))}

### One {size_label(args.big_mb)} message from memory (unpinned)

{big_table(fig)}

### One {size_label(args.stream_mb)} message streamed with `smtp_client_sendmail_stream()` (unpinned)

{stream_table(fig)}
"""

    md = [f"""# libsmtpclient benchmark results

Written by `make bench` (`bench/run.sh`, `bench/report.py`) on **{now}**, in {args.duration} s.

- Machine: {machine(args)}. Load average at start {args.load_start}, at end {args.load_end};
  other work took about {other} of the machine's CPU time during the measurements (busy time minus
  the benchmark's own clients and sinks). Other work moves these figures more than anything else: each
  run measures it, a disturbed run (other work over {OTHER_MAX:.0%} of the machine) is run again while
  time allows and the least disturbed attempt is kept ({n_attempts - n_runs} runs repeated; {n_disturbed} of
  the {n_runs} kept are still disturbed, marked * in the runs columns).
- Library: libsmtpclient {args.library_version} (commit {args.commit}), release build, used through the installed
  C API (`pkg-config --cflags --libs smtpclient`).
- Others: Postfix smtp-source / smtp-sink {args.postfix_version}, Python smtplib {args.python_version},
  libcurl {args.curl_version} (the C library, one easy handle per connection, so the connection is reused).
- Each client runs {args.repeat} times, clients alternating within each repetition; figures are medians, and
  every ratio compares medians of the same run. Small = {args.small} messages of {small_size(fig)} bytes (the shape of
  smtp-source's default message) per run. "Pinned": client and sink both on CPU {args.cpu} (`taskset`);
  "unpinned": the scheduler decides, so each lock-step round trip may cross CPUs.
- Sinks: Postfix `smtp-sink` (PIPELINING, no CHUNKING, parses line by line: tops out near 200 MB/s) and
  `bench/discard_sink.c` (PIPELINING, CHUNKING, 256 KiB reads, replies to a pipelined batch in one write).
  BDAT rows are measured against the discard sink only.

![results](results.png)

## Targets

{met} of {len(tgt)} met. Each verdict uses the ratio of the medians; the per-repetition ratios (runs of the
two clients taken minutes apart at most) show how stable it is on this machine.

{targets_summary(tgt)}

{targets_table(tgt)}

## Results

{results_tables}"""]
    if failed:
        md.append('### Failed runs\n\n' + '\n'.join(
            f'- {CLIENT_NAMES.get(c, c)}, {t}, {SINK_NAMES.get(s, s)}, {p}, repetition {r}' for t, s, p, c, r in failed)
            + '\n')
    prof = profile_section(args.profile, args.profile_functions)
    if prof:
        md.append('## Client cost per message\n\n' + prof)
    if args.analysis and os.path.exists(args.analysis):
        with open(args.analysis) as f:
            md.append(f.read().rstrip() + '\n')
    md.append("""## How each figure is taken

- libsmtpclient (`bench/client.c`): `smtp_client_new`, `smtp_client_set_pipelining` /
  `smtp_client_set_chunking`, `smtp_client_connect`, then `smtp_client_sendmail` in a loop (small messages; the large message from memory) or
  `smtp_client_sendmail_stream` with a callback that writes the lines into the library's buffer (streamed), `smtp_client_quit`.
  "Pipelining" = pipelining on, chunking off (DATA); "BDAT" = both on; "no pipelining" = both off.
- smtp-source: `-d -m N -s 1` (one connection), `-s 4` (4 sessions), `-l BYTES` (one large message); it speaks
  HELO and never pipelines. Timed from fork to exit (`bench/timed.py`).
- smtplib (`bench/smtplib_client.py`): `sendmail` in a loop on one connection; threads for 4 sessions
  (the GIL serialises them). It dot-stuffs and normalises line ends in Python.
- libcurl (`bench/curl_client.c`): one easy handle reused for every message of a thread (EHLO once, then
  MAIL / RCPT / DATA per message, lock-step).
- raw socket (`bench/raw_client.c`): lock-step EHLO / MAIL / RCPT by hand, then the same bytes (they need no
  dot-stuffing) written straight into the socket after DATA, or as one `BDAT n LAST`: the ceiling for a
  client against that sink.
- Timing covers connect to QUIT. Peak RSS is `getrusage(RUSAGE_SELF).ru_maxrss` of the client process;
  1 MB = 10^6 bytes. Client CPU is the client process's user + system time (`getrusage`, or `wait4` for
  smtp-source); sink CPU is the sink's (`/proc/PID/stat`, all threads) over the same run. On loopback
  the sending side's system time includes the TCP receive processing of the other end, so the split
  between client and sink is approximate; their sum is what a pinned run spends per message.
""")
    with open(args.out, 'w') as f:
        f.write('\n'.join(md))

    plot(fig, args.png, size_label(args.big_mb))

    if args.readme:
        block = (f'{BEGIN}\n_Last run: {now} on {machine(args)}; {met} of {len(tgt)} targets met '
                 f'(details in [results.md](results.md)); * marks a run that other work on the machine '
                 f'disturbed._\n\n![results](results.png)\n\n'
                 f'{results_tables}\n{END}')
        text = open(args.readme).read() if os.path.exists(args.readme) else ''
        if BEGIN in text and END in text:
            text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
        else:
            text = text.rstrip() + '\n\n## Latest results\n\n' + block + '\n'
        with open(args.readme, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
