# SPDX-License-Identifier: BSD-2-Clause
"""Sum a process's resident pages per mapping from /proc/PID/smaps.

    smaps_summary.py PID LABEL      (run from gdb, or by hand on a stopped process)

Prints VmRSS and VmHWM, then one line per object (a library's text, relro,
data and bss counted apart; the heap; anonymous mappings; stacks) with its
Rss and its private dirty part, in KB, largest first.
"""
import os
import sys


def kind(perms, path):
    if 'x' in perms:
        return 'text'
    if 'w' in perms:
        return 'data'
    return 'ro'


def summarize(pid, label, out=sys.stdout):
    rows = {}
    cur = None
    with open('/proc/%d/smaps' % pid) as f:
        for line in f:
            fields = line.split()
            if '-' in fields[0] and len(fields) >= 5 and ':' not in fields[0]:
                path = fields[5] if len(fields) > 5 else '[anon]'
                name = os.path.basename(path) if path.startswith('/') else path
                cur = (name, kind(fields[1], path)
                       if path.startswith('/') else fields[1])
                rows.setdefault(cur, [0, 0])
            elif fields[0] == 'Rss:':
                rows[cur][0] += int(fields[1])
            elif fields[0] == 'Private_Dirty:':
                rows[cur][1] += int(fields[1])
    status = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            status[k] = v.strip()
    out.write('== %s: VmRSS %s, VmHWM %s (RssAnon %s, RssFile %s)\n' % (
        label, status['VmRSS'], status['VmHWM'], status['RssAnon'], status['RssFile']))
    for (name, k), (rss, dirty) in sorted(rows.items(), key=lambda r: -r[1][0]):
        if rss:
            out.write('  %-28s %-5s %6d KB rss %6d KB dirty\n' % (name, k, rss, dirty))


if __name__ == '__main__':
    summarize(int(sys.argv[1]), sys.argv[2])
