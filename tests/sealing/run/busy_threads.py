#!/usr/bin/env python3
"""A busy multi-threaded python3 for the `vmseal seal PID` tests
(tests/sealing/seal_server.py --lines): N threads each compute, allocate
and free, and print "T<i> <n>" with n counting up from 1, without a gap or a
repeat; a seal that disturbed a thread would show in its sequence, its
result (a checksum it recomputes) or its silence. Runs until killed."""
import sys
import threading

lock = threading.Lock()


def work(index):
    n = 0
    while True:
        n += 1
        data = [i * i for i in range(2000)]
        table = {str(i): i for i in range(500)}
        ok = sum(data) == 2664667000 and table["499"] == 499
        with lock:
            sys.stdout.write(f"T{index} {n} {'ok' if ok else 'BAD'}\n")
            sys.stdout.flush()


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    for i in range(count):
        threading.Thread(target=work, args=(i,), daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
