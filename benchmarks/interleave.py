#!/usr/bin/env python3
"""Time several commands in interleaved rounds (used by benchmarks/compare.sh).

Usage: interleave.py --runs N [--timeout SECONDS] --json OUT.json COMMAND [COMMAND...]

Each COMMAND is one argument holding a command line (split like a shell would, but run
without a shell).  Round k runs every command once, the order rotated by k (for two
commands: A B, B A, A B, ...), so that a machine whose speed drifts over minutes slows
both commands alike and round k's times form a fair pair.  Standard output, standard
error and standard input are /dev/null.  Wall-clock time is measured with
time.perf_counter around fork/exec and wait; CPU time (user + system) comes from
wait4's resource usage of the child.  A command that exits non-zero, is killed by a
signal or exceeds the timeout stops being run; the JSON says why.

OUT.json: {"runs": N, "results": [{"command": str, "times": [s...], "cpu": [s...],
"order": [position within its round...], "failed": null | str}, ...]}
"""
import json
import os
import shlex
import subprocess
import sys
import threading
import time


def run_once(argv, timeout):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed = []

    def kill():
        killed.append(True)
        p.kill()

    timer = threading.Timer(timeout, kill) if timeout else None
    if timer:
        timer.start()
    _, status, usage = os.wait4(p.pid, 0)
    t1 = time.perf_counter()
    if timer:
        timer.cancel()
    p.returncode = 0  # reaped by wait4; keep Popen from waiting again
    if killed:
        return None, "timeout after %gs" % timeout
    if os.WIFSIGNALED(status):
        return None, "crashed (signal %d)" % os.WTERMSIG(status)
    code = os.WEXITSTATUS(status)
    if code != 0:
        return None, "exit status %d" % code
    return (t1 - t0, usage.ru_utime + usage.ru_stime), None


def main():
    args = sys.argv[1:]
    runs, timeout, out, cmds = 3, None, None, []
    while args:
        a = args.pop(0)
        if a == "--runs":
            runs = int(args.pop(0))
        elif a == "--timeout":
            timeout = float(args.pop(0))
        elif a == "--json":
            out = args.pop(0)
        elif a.startswith("--"):
            sys.exit("interleave.py: unknown option %s" % a)
        else:
            cmds.append(a)
    if not cmds or not out or runs < 1:
        sys.exit(__doc__)
    results = [{"command": c, "argv": shlex.split(c), "times": [], "cpu": [], "order": [], "failed": None} for c in cmds]
    n = len(results)
    for k in range(runs):
        for pos in range(n):
            r = results[(pos + k) % n]
            if r["failed"]:
                continue
            got, why = run_once(r["argv"], timeout)
            if why:
                r["failed"] = why
                continue
            r["times"].append(got[0])
            r["cpu"].append(got[1])
            r["order"].append(pos)
    for r in results:
        del r["argv"]
    with open(out, "w") as f:
        json.dump({"runs": runs, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
