#!/usr/bin/env python3
"""Prints the BENCHMARKS.md table for `cargo bench -p hpmq-bench --bench peers` from criterion's estimates.

Usage: python3 benches/codec-peers/report.py [TARGET_DIR]   (default: $CARGO_TARGET_DIR or ./target)
Each cell is criterion's mean estimate in ns per operation; the ratio columns are peer time / hpmq time
(above 1.00 means hpmq is faster).
"""
import json
import os
import sys

CODECS = ["hpmq", "rumqttc", "ntex-mqtt", "rmqtt-codec"]
CASES = [
    ("connect", "v311"), ("connect", "v5"),
    ("publish_qos1", "v311"), ("publish_qos1", "v5"), ("publish_qos1_props", "v5"),
    ("publish_64k", "v311"), ("publish_64k", "v5"),
    ("subscribe_10", "v311"), ("subscribe_10", "v5"),
]


def mean_ns(root, direction, case, version, codec):
    # criterion turns the group name "decode/publish_qos1/v5" into the directory "decode_publish_qos1_v5".
    path = os.path.join(root, "criterion", f"{direction}_{case}_{version}", codec, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["mean"]["point_estimate"]
    except FileNotFoundError:
        return None


def fmt_ns(ns):
    if ns is None:
        return "-"
    return f"{ns:,.0f}" if ns >= 100 else f"{ns:.1f}"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CARGO_TARGET_DIR", "target")
    peers = CODECS[1:]
    header = "| case | " + " | ".join(f"{c} ns" for c in CODECS) + " | " + " | ".join(f"{p} / hpmq" for p in peers) + " |"
    for direction in ["decode", "encode"]:
        print(f"\n**{direction}** (mean ns/op)\n")
        print(header)
        print("|" + " --- |" * (1 + len(CODECS) + len(peers)))
        for case, version in CASES:
            times = [mean_ns(root, direction, case, version, c) for c in CODECS]
            ours = times[0]
            ratios = ["-" if (t is None or not ours) else f"{t / ours:.2f}" for t in times[1:]]
            print(f"| {case} {version} | " + " | ".join(fmt_ns(t) for t in times) + " | " + " | ".join(ratios) + " |")


if __name__ == "__main__":
    main()
