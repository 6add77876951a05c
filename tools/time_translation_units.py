#!/usr/bin/env python3
"""Times ktc's translation units one by one: what each costs a clean build, in CPU seconds and peak
memory (issue 18's build floors). Reads BUILD/compile_commands.json (configure with
-DCMAKE_EXPORT_COMPILE_COMMANDS=ON), runs every STEP-th compile command again without ccache under
/usr/bin/time, two at a time, writing the object to a scratch file, and prints one line per unit
(user s, system s, peak MB, file) and the totals per group (header check, tests, the rest).

usage: time_translation_units.py [--build build] [--step 8] [--jobs 2]
A sample (--step 8) gives an estimate of the whole build: its total times the step.
"""
import argparse
import concurrent.futures
import json
import os
import shlex
import subprocess
import tempfile


def time_one(entry, scratch):
    args = shlex.split(entry["command"])
    if os.path.basename(args[0]) == "ccache":
        args = args[1:]
    args[args.index("-o") + 1] = os.path.join(scratch, f"unit-{os.getpid()}-{id(entry)}.o")
    run = subprocess.run(["/usr/bin/time", "-f", "%U %S %M"] + args, cwd=entry["directory"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"time_translation_units: {entry['file']} did not compile:\n{run.stderr[-2000:]}")
    user, system, peak_kb = run.stderr.strip().splitlines()[-1].split()
    return float(user), float(system), int(peak_kb) / 1024


def group_of(path):
    if "/header_check/" in path:
        return "header check"
    return "tests" if "/tests/" in path else "library, drivers, benchmarks"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--step", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    options = parser.parse_args()
    with open(os.path.join(options.build, "compile_commands.json")) as f:
        entries = json.load(f)[:: options.step]
    totals = {}
    with tempfile.TemporaryDirectory() as scratch, \
            concurrent.futures.ThreadPoolExecutor(options.jobs) as pool:
        for entry, (user, system, peak_mb) in zip(entries, pool.map(lambda e: time_one(e, scratch), entries)):
            print(f"{user:8.2f} {system:6.2f} {peak_mb:7.0f} MB  {entry['file']}", flush=True)
            group = totals.setdefault(group_of(entry["file"]), [0, 0.0])
            group[0] += 1
            group[1] += user + system
    for group, (count, cpu) in sorted(totals.items()):
        print(f"{group}: {count} units, {cpu:.1f} CPU-s")
    print(f"all {len(entries)} units: {sum(c for _, c in totals.values()):.1f} CPU-s "
          f"(every {options.step}th of the build; x{options.step} estimates the whole)")


if __name__ == "__main__":
    main()
