# SPDX-License-Identifier: BSD-2-Clause
# Run inside gdb attached to a process (gdb -batch -p PID -x memscan.py):
# read what gcore would write -- every readable mapping that is not marked
# MADV_DONTDUMP ("dd" in smaps) -- and count the occurrences of the bytes in
# $CPK_MEMSCAN_HEX. Mappings over 256 MB are skipped: in an AddressSanitizer
# build they are the allocator's reservations, and gcore would write
# gigabytes of them. Prints "memscan: N found in M bytes of K mappings".
#
# A look taken while a thread is inside the PKCS#11 module (a solib whose
# name holds $CPK_MEMSCAN_MODULE) is moved to a later stop at
# $CPK_MEMSCAN_BREAK; if none comes, it prints "memscan: busy" and reads
# nothing:
# a software token such as SoftHSM2 runs in this process and holds a key in
# its own working memory while it computes with it. What is searched is
# what stays in cardc between the token's operations.
import os
import re

import gdb  # noqa: E402  (provided by gdb)

needle = bytes.fromhex(os.environ["CPK_MEMSCAN_HEX"])
module = os.environ.get("CPK_MEMSCAN_MODULE", "")
pid = gdb.selected_inferior().pid
inf = gdb.selected_inferior()


def in_module():
    if module == "":
        return False
    for th in inf.threads():
        th.switch()
        frame = gdb.newest_frame()
        while frame is not None:
            name = gdb.solib_name(frame.pc())
            if name is not None and module in name:
                return True
            try:
                frame = frame.older()
            except gdb.error:
                break
    return False


# While a thread is inside the module, let the process run on to the next
# time a thread reaches $CPK_MEMSCAN_BREAK (a cardc function called between
# token operations) and look again: a look at an event of the run, not at a
# moment chosen by a clock.
stop_at = os.environ.get("CPK_MEMSCAN_BREAK", "")
if in_module() and stop_at != "":
    bp = gdb.Breakpoint(stop_at, internal=True)
    for _ in range(400):
        try:
            gdb.execute("continue", to_string=True)
        except gdb.error:
            break
        if not in_module():
            break
    bp.delete()
if in_module():
    print("memscan: busy")
    raise SystemExit(0)
maps = []
cur = None
with open("/proc/%d/smaps" % pid) as f:
    for line in f:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        if m:
            cur = [int(m.group(1), 16), int(m.group(2), 16), m.group(3), False]
            maps.append(cur)
        elif line.startswith("VmFlags") and " dd" in line:
            cur[3] = True
found = scanned = regions = 0
for start, end, perms, dd in maps:
    if "r" not in perms or dd or end - start > (256 << 20) or start >= 0xffffffffff600000:
        continue
    try:
        data = bytes(inf.read_memory(start, end - start))
    except gdb.MemoryError:
        continue
    regions += 1
    scanned += len(data)
    found += data.count(needle)
print("memscan: %d found in %d bytes of %d mappings" % (found, scanned, regions))
