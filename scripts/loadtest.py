#!/usr/bin/env python3
"""Load comparison driver behind scripts/loadtest: hpmq-broker against Debian's mosquitto.

Starts one broker at a time on loopback, drives it with the third-party generator `mqttv5 bench`
(mqttv5-cli) and, for the idle-connection memory row, with this file's `idle` mode (raw MQTT 3.1.1
CONNECT/CONNACK over asyncio sockets, the same client for both brokers). Repetitions interleave the brokers
(hpmq, mosquitto, hpmq + functions, hpmq, ...) and the table reports the median of each row.

    scripts/loadtest.py run --broker-bin PATH [--duration 5] [--reps 3] [--idle 10000] [--no-pin]
                            [--only hpmq,mosquitto,hpmq+functions] [--rows mem,conn,throughput,latency]
    scripts/loadtest.py idle --port PORT --count N     (used by `run`; prints `ready N`, holds until stdin closes)
"""

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

# (key, label, unit, higher_is_better)
ROWS = [
    ("fanin0", "fan-in QoS 0 (4 pub → 1 sub)", "msg/s", True),
    ("fanin1", "fan-in QoS 1 (4 pub → 1 sub)", "msg/s", True),
    ("fanin2", "fan-in QoS 2 (4 pub → 1 sub)", "msg/s", True),
    ("fanout0", "fan-out QoS 0 (1 pub → 4 sub)", "msg/s", True),
    ("fanout1", "fan-out QoS 1 (1 pub → 4 sub)", "msg/s", True),
    ("fanout2", "fan-out QoS 2 (1 pub → 4 sub)", "msg/s", True),
    ("sent_fanin0", "broker PUBLISH sent/s, fan-in QoS 0", "msg/s", True),
    ("sent_fanin1", "broker PUBLISH sent/s, fan-in QoS 1", "msg/s", True),
    ("sent_fanin2", "broker PUBLISH sent/s, fan-in QoS 2", "msg/s", True),
    ("sent_fanout0", "broker PUBLISH sent/s, fan-out QoS 0", "msg/s", True),
    ("sent_fanout1", "broker PUBLISH sent/s, fan-out QoS 1", "msg/s", True),
    ("sent_fanout2", "broker PUBLISH sent/s, fan-out QoS 2", "msg/s", True),
    ("cpu_fanin0", "broker CPU per message, fan-in QoS 0", "µs", False),
    ("cpu_fanin1", "broker CPU per message, fan-in QoS 1", "µs", False),
    ("cpu_fanin2", "broker CPU per message, fan-in QoS 2", "µs", False),
    ("cpu_fanout0", "broker CPU per message, fan-out QoS 0", "µs", False),
    ("cpu_fanout1", "broker CPU per message, fan-out QoS 1", "µs", False),
    ("cpu_fanout2", "broker CPU per message, fan-out QoS 2", "µs", False),
    ("p50", "latency p50 (QoS 1, 1000 msg/s)", "µs", False),
    ("p99", "latency p99 (QoS 1, 1000 msg/s)", "µs", False),
    ("conn", "connections (connect+CONNACK+disconnect)", "conn/s", True),
    ("mem", "memory per idle connection (10,000 open)", "bytes", False),
]


# What `run --rows` can select.
ROW_GROUPS = {"mem", "conn", "throughput", "latency"}


class Broker:
    """How to start one broker and which topics its load uses."""

    def __init__(self, name, port, argv, topic, filt, lat_topic, lat_filter, all_rows, sent_topic):
        self.name, self.port, self.argv = name, port, argv
        self.sent_topic = sent_topic  # the retained $SYS counter of PUBLISH packets the broker sent
        self.topic, self.filter = topic, filt
        self.lat_topic, self.lat_filter = lat_topic, lat_filter
        self.all_rows = all_rows  # False: only the rows functions can change (throughput, latency)


def brokers(bin_path, work, baseline_bin=None):
    conf = work / "mosquitto.conf"
    # Anonymous, no connection cap, and logging at the level hpmq's default `info` has (no line per
    # connection), so neither broker pays for per-connection log lines.
    conf.write_text(
        f"listener 18833 {HOST}\nallow_anonymous true\nmax_connections -1\n"
        "log_dest stderr\nlog_type error\nlog_type warning\nconnection_messages false\nsys_interval 1\n"
    )
    plain = str(ROOT / "benches/loadtest/hpmq.toml")
    fns = str(ROOT / "benches/loadtest/functions.toml")
    baseline = []
    if baseline_bin:
        # Another build of hpmq-broker (e.g. the commit before a change) with the same config, in the same run.
        baseline = [Broker("hpmq-baseline", 18834, [baseline_bin, "--config", plain, "--listen", f"{HOST}:18834"],
                           "bench/t", "bench/t/#", "bench/lat", "bench/lat", True, "$SYS/broker/messages/sent")]
    return [
        Broker("hpmq", 18831, [bin_path, "--config", plain, "--listen", f"{HOST}:18831"],
               "bench/t", "bench/t/#", "bench/lat", "bench/lat", True, "$SYS/broker/messages/sent"),
        Broker("mosquitto", 18833, ["mosquitto", "-c", str(conf)],
               "bench/t", "bench/t/#", "bench/lat", "bench/lat", True, "$SYS/broker/publish/messages/sent"),
        Broker("hpmq+functions", 18832, [bin_path, "--config", fns, "--listen", f"{HOST}:18832"],
               "raw/bench", "site/bench/#", "raw/bench/lat", "site/bench/lat", False,
               "$SYS/broker/messages/sent"),
    ] + baseline


def pinned(argv, cpu, pin):
    return (["taskset", "-c", str(cpu)] + argv) if pin else argv


def wait_port(port, proc, seconds=15.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"broker exited with {proc.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {seconds} s")


def rss_bytes(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid):
    """User + system CPU time the process has used so far (/proc/PID/stat fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "; fields[0] is field 3
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench(args, broker, extra, timeout):
    argv = pinned(["mqttv5", "bench", "-H", HOST, "-p", str(broker.port)] + extra, 1, args.pin)
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"  {broker.name}: `{' '.join(extra)}` timed out", file=sys.stderr)
        return None
    try:
        return json.loads(out.stdout)["results"]
    except (ValueError, KeyError):
        tail = "\n    ".join(out.stderr.strip().splitlines()[-5:])
        print(f"  {broker.name}: `{' '.join(extra)}` failed:\n    {tail}", file=sys.stderr)
        return None


def sys_counter(broker):
    """The broker's retained `$SYS` count of PUBLISH packets sent, read with mosquitto_sub (None if unread)."""
    try:
        out = subprocess.run(["mosquitto_sub", "-h", HOST, "-p", str(broker.port), "-t", broker.sent_topic,
                              "-C", "1", "-W", "5"], capture_output=True, text=True, timeout=10)
        return int(out.stdout.split()[0])
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        return None


def throughput(args, broker, proc, qos, publishers, subscribers):
    """(delivered msg/s, broker PUBLISH sent/s, broker CPU µs per delivered message), or Nones.

    The sent/s figure does not depend on how the generator counts: it is the broker's own `$SYS` counter of
    PUBLISH packets written to subscribers (updated every second in both brokers' loadtest settings, read
    1.2 s after the load before and after) over the generator's warm-up plus measured time. A broker that
    sheds messages of a subscriber that cannot keep up (both do, past 1,000 queued) sends fewer.

    The CPU figure is the broker's user + system time over the whole generator run (connects and warm-up
    included) divided by the messages the generator's subscribers counted. The generator counts a message
    when its own client hands it over, so a broker that delivers faster than the generator reads is charged
    for messages it sent but that were not counted: the figure can only overstate the broker's cost. It is the
    row that says what the broker itself spends when the generator, not the broker, limits msg/s."""
    extra = ["--mode", "throughput", "--duration", str(args.duration), "--warmup", "1", "-q", str(qos),
             "-t", broker.topic, "-f", broker.filter,
             "--publishers", str(publishers), "--subscribers", str(subscribers)]
    time.sleep(1.2)
    sent_before = sys_counter(broker)
    cpu_before = cpu_seconds(proc.pid)
    r = bench(args, broker, extra, args.duration * 4 + 30)
    cpu = cpu_seconds(proc.pid) - cpu_before
    time.sleep(1.2)
    sent_after = sys_counter(broker)
    if r is None:
        return None, None, None
    if r.get("received", 0) == 0:
        print(f"  {broker.name}: nothing delivered for qos {qos} {publishers}→{subscribers}", file=sys.stderr)
        return None, None, None
    sent = None
    if sent_before is not None and sent_after is not None:
        sent = (sent_after - sent_before) / (1.0 + float(r["elapsed_secs"]))
    return float(r["throughput_avg"]), sent, cpu * 1e6 / float(r["received"])


def measure_idle(args, broker, proc):
    """RSS growth of the broker process per idle connection while `args.idle` connections are open."""
    time.sleep(1.0)
    before = rss_bytes(proc.pid)
    argv = pinned([sys.executable, str(Path(__file__).resolve()), "idle", "--port", str(broker.port),
                   "--count", str(args.idle)], 1, args.pin)
    holder = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline().split()
        if line[:1] != ["ready"] or int(line[1]) != args.idle:
            print(f"  {broker.name}: idle client got {line}", file=sys.stderr)
            return None
        time.sleep(1.0)
        after = rss_bytes(proc.pid)
    finally:
        holder.stdin.close()
        try:
            holder.wait(timeout=60)
        except subprocess.TimeoutExpired:
            holder.kill()
    return (after - before) / args.idle


def run_broker(args, broker, work, rep):
    log = open(work / f"{broker.name}-{rep}.log", "w")
    proc = subprocess.Popen(pinned(broker.argv, 0, args.pin), stdout=log, stderr=subprocess.STDOUT)
    results = {}
    try:
        wait_port(broker.port, proc)
        rows = args.rows
        if broker.all_rows and "mem" in rows:
            results["mem"] = measure_idle(args, broker, proc)
            time.sleep(1.0)  # let the broker drop the idle sessions
        if broker.all_rows and "conn" in rows:
            r = bench(args, broker, ["--mode", "connections", "--duration", str(args.duration)],
                      args.duration * 4 + 30)
            results["conn"] = None if r is None or r["successful"] == 0 else float(r["connections_per_sec"])
        for qos in (0, 1, 2) if "throughput" in rows else ():
            for key, pubs, subs in ((f"fanin{qos}", 4, 1), (f"fanout{qos}", 1, 4)):
                results[key], results[f"sent_{key}"], results[f"cpu_{key}"] = throughput(
                    args, broker, proc, qos, pubs, subs)
        r = None
        if "latency" in rows:
            r = bench(args, broker, ["--mode", "latency", "--duration", str(args.duration), "--warmup", "1",
                                     "-q", "1", "-t", broker.lat_topic, "-f", broker.lat_filter],
                      args.duration * 4 + 30)
        if r is not None and r["messages"] > 0:
            results["p50"], results["p99"] = float(r["p50_us"]), float(r["p99_us"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    return results


def fmt(value, unit):
    if value is None:
        return "—"
    if unit == "bytes":
        return f"{value:,.0f} B"
    if value < 100:
        return f"{value:.2f}"
    return f"{value:,.0f}"


def table(samples, names):
    med = {}
    for name in names:
        for key, *_ in ROWS:
            vals = [v for v in samples[name].get(key, []) if v is not None]
            med[(name, key)] = statistics.median(vals) if vals else None
    has_base = "hpmq-baseline" in names
    lines = [
        "| metric | unit | better | hpmq | mosquitto | hpmq / mosquitto | hpmq + functions | functions / hpmq |"
        + (" hpmq-baseline | hpmq / baseline |" if has_base else ""),
        "|---|---|---|---:|---:|---:|---:|---:|" + ("---:|---:|" if has_base else ""),
    ]
    for key, label, unit, higher in ROWS:
        ours, theirs, fns = med[("hpmq", key)], med[("mosquitto", key)], med[("hpmq+functions", key)]
        ratio = "—"
        if ours is not None and theirs:
            ahead = ours > theirs if higher else ours < theirs
            ratio = f"{ours / theirs:.2f}" + (" ✓" if ahead else " ✗")
        cost = f"{fns / ours:.2f}" if fns is not None and ours else "—"
        line = (f"| {label} | {unit} | {'higher' if higher else 'lower'} | {fmt(ours, unit)} | "
                f"{fmt(theirs, unit)} | {ratio} | {fmt(fns, unit)} | {cost} |")
        if has_base:
            base = med[("hpmq-baseline", key)]
            change = f"{ours / base:.2f}" if ours is not None and base else "—"
            line += f" {fmt(base, unit)} | {change} |"
        lines.append(line)
    return "\n".join(lines)


def raw_lines(samples, names):
    out = []
    for key, label, unit, _ in ROWS:
        parts = []
        for name in names:
            vals = samples[name].get(key, [])
            if vals:
                parts.append(f"{name} " + " / ".join(fmt(v, unit) for v in vals))
        out.append(f"- {label}: " + "; ".join(parts))
    return "\n".join(out)


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard == resource.RLIM_INFINITY else max(soft, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want != resource.RLIM_INFINITY and want < need:
        raise SystemExit(f"open-file limit {want} is below the {need} this run needs; raise `ulimit -Hn`")


def cmd_run(args):
    # SIGTERM unwinds like Ctrl-C, so the `finally` blocks stop the broker that is running.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    raise_nofile(args.idle + 1000)
    for tool in ("mosquitto", "mqttv5") + (("taskset",) if args.pin else ()):
        if shutil.which(tool) is None:
            raise SystemExit(f"`{tool}` not found on PATH")
    started = time.monotonic()
    print("## Broker vs mosquitto: load comparison\n")
    print(f"- machine: {os.cpu_count()} × {cpu_model()}, {platform.system()} {platform.release()}")
    print(f"- brokers: hpmq-broker ({args.broker_bin}), {version(['mosquitto', '-h'])}")
    print(f"- load generator: {version(['mqttv5', '--version'])} (`mqttv5 bench`), idle connections: "
          "scripts/loadtest.py idle (raw MQTT 3.1.1)")
    print(f"- {args.reps} repetitions, brokers interleaved, one broker running at a time; "
          f"{args.duration} s per run (+1 s warm-up), 64-byte payloads; medians reported")
    print("- pinning: " + ("broker on CPU 0, load generator on CPU 1 (taskset)" if args.pin else "none"))
    print(f"- load before: {uptime()}\n", flush=True)
    rows = {r.strip() for r in args.rows.split(",") if r.strip()}
    if not rows or rows - ROW_GROUPS:
        raise SystemExit(f"--rows: expected some of {','.join(sorted(ROW_GROUPS))}, got {args.rows!r}")
    args.rows = rows
    with tempfile.TemporaryDirectory(prefix="hpmq-loadtest-") as tmp:
        work = Path(tmp)
        all_brokers = brokers(args.broker_bin, work, args.baseline_bin)
        names = [b.name for b in all_brokers]
        if args.only:
            all_brokers = [b for b in all_brokers if b.name in args.only.split(",")]
        # hpmq + functions runs only the rows functions can change.
        all_brokers = [b for b in all_brokers if b.all_rows or rows & {"throughput", "latency"}]
        samples = {n: {} for n in names}
        for rep in range(1, args.reps + 1):
            for broker in all_brokers:
                t0 = time.monotonic()
                results = run_broker(args, broker, work, rep)
                for key, value in results.items():
                    samples[broker.name].setdefault(key, []).append(value)
                summary = ", ".join(f"{k}={fmt(v, 'x')}" for k, v in results.items())
                print(f"rep {rep} {broker.name} ({time.monotonic() - t0:.0f} s): {summary}",
                      file=sys.stderr, flush=True)
    print(f"- load after: {uptime()}; total {time.monotonic() - started:.0f} s\n")
    print(table(samples, names))
    print("\n✓ / ✗: hpmq ahead of / behind mosquitto. functions / hpmq: the with-functions run relative to "
          "hpmq without functions (throughput: 1.00 = no cost; broker CPU per message: 1.25 = functions add 25 %).\n")
    print("Every repetition (in run order):\n")
    print(raw_lines(samples, names))


# ---- idle mode: hold N MQTT connections open ----

def connect_packet(client_id):
    cid = client_id.encode()
    body = b"\x00\x04MQTT\x04\x02\x00\x00" + len(cid).to_bytes(2, "big") + cid  # 3.1.1, clean, keep-alive 0
    return bytes([0x10, len(body)]) + body


async def hold(port, count, concurrency):
    sem = asyncio.Semaphore(concurrency)
    conns = []
    prefix = f"idle-{os.getpid()}-"

    async def one(i):
        async with sem:
            for attempt in range(5):
                try:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 10)
                    writer.write(connect_packet(f"{prefix}{i}"))
                    ack = await asyncio.wait_for(reader.readexactly(4), 10)
                    if ack[0] != 0x20 or ack[3] != 0:
                        raise RuntimeError(f"CONNACK refused: {ack.hex()}")
                    conns.append(writer)
                    return
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                    await asyncio.sleep(0.1 * (attempt + 1))
            raise RuntimeError(f"connection {i} failed 5 times")

    await asyncio.gather(*(one(i) for i in range(count)))
    print(f"ready {len(conns)}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for w in conns:
        w.close()


def cmd_idle(args):
    raise_nofile(args.count + 100)
    try:
        asyncio.run(hold(args.port, args.count, args.concurrency))
    except RuntimeError as e:
        print(f"failed {e}", flush=True)
        sys.exit(1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--broker-bin", required=True)
    r.add_argument("--duration", type=int, default=5)
    r.add_argument("--reps", type=int, default=3)
    r.add_argument("--idle", type=int, default=10_000)
    r.add_argument("--no-pin", dest="pin", action="store_false")
    r.add_argument("--baseline-bin", help="another hpmq-broker build to run beside it (before/after a change)")
    r.add_argument("--only", help="comma-separated broker names to run "
                   "(hpmq,mosquitto,hpmq+functions,hpmq-baseline)")
    r.add_argument("--rows", default="mem,conn,throughput,latency",
                   help="comma-separated row groups to measure (default all: mem,conn,throughput,latency)")
    i = sub.add_parser("idle")
    i.add_argument("--port", type=int, required=True)
    i.add_argument("--count", type=int, required=True)
    i.add_argument("--concurrency", type=int, default=200)
    args = p.parse_args()
    cmd_run(args) if args.cmd == "run" else cmd_idle(args)


if __name__ == "__main__":
    main()
