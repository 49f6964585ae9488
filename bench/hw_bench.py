#!/usr/bin/env python3
"""pci_devices / usb_devices against lspci -mm / lsusb (issue 12's goal:
<= 1.0x). Whole processes on both sides: `osqi --json "select * from T"`
against the tool, alternated, N runs each; prints the medians and ratio.

Usage: bench/hw_bench.py [BUILD_DIR] [N]
"""
import shutil
import statistics
import subprocess
import sys
import time


def median_ms(cmd, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    osqi = f"{build}/osqi"
    pairs = [("pci_devices", ["lspci", "-mm"]), ("usb_devices", ["lsusb"])]
    for table, tool in pairs:
        if shutil.which(tool[0]) is None:
            print(f"{table}: {tool[0]} not installed, skipped")
            continue
        ours = [osqi, "--json", f"select * from {table}"]
        rows = subprocess.run(ours, capture_output=True, text=True).stdout.count("{")
        try:
            median_ms(tool, 1)
        except subprocess.CalledProcessError:
            print(f"{table}: {' '.join(tool)} fails here (no bus?), skipped")
            continue
        a = median_ms(ours, n)
        b = median_ms(tool, n)
        print(f"{table}: {rows} rows; osqi {a:.2f} ms, {' '.join(tool)} "
              f"{b:.2f} ms, ratio {a / b:.2f}x (median of {n})")


if __name__ == "__main__":
    main()
