"""Benchmark the feed simulator: records/s per source and in aggregate, and peak memory.

    .venv/bin/python bench/bench_sim.py --scale 1.0 [--snapshot 2017-11-15] [--sequential]
        [--profile heldout]

Starts `umkm-sim serve` (one forked listener per source), pulls one whole snapshot
of every record-bearing source with a minimal keep-alive client (one client process per
source, all at once; `--sequential` pulls one source at a time), and prints records/s per
source, the aggregate (all records / wall time of the whole pull), and the server's peak
memory sampled every 0.5 s: RSS summed over the parent and its listeners (counts shared
copy-on-write pages once per process, so it overstates) and PSS (shared pages divided among
the processes that share them: the real footprint).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import hmac
import http.client
import io
import json
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import msgspec
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from umkm.runner.simulator import start_simulator

SOURCES = [
    "tokopedia", "lazada", "shopee", "bukalapak", "blibli", "blanja", "mataharimall",
    "kemenkopukm", "kemenperin",
]  # fmt: skip
decode = msgspec.json.decode


def _conn(value: str) -> tuple[str, int, dict]:
    if value.startswith("{"):
        doc = json.loads(value)
        parts = urlsplit(doc["host"])
        extra = doc["extra"] if isinstance(doc["extra"], dict) else json.loads(doc["extra"])
        return parts.hostname, parts.port, extra
    parts = urlsplit(value)
    return parts.hostname, parts.port, {"login": parts.username, "password": parts.password}


def pull(source: str, value: str, snapshot: str) -> tuple[str, int, float, int]:
    """Pull one whole snapshot; returns (source, records, seconds, bytes)."""
    host, port, cred = _conn(value)
    conn = http.client.HTTPConnection(host, port, timeout=600)
    started = time.perf_counter()
    n = nbytes = 0

    def get(path: str, headers=None) -> bytes:
        nonlocal nbytes
        conn.request("GET", path, headers=headers or {})
        answer = conn.getresponse()
        body = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{source} {path}: {answer.status} {body[:200]!r}")
        nbytes += len(body)
        return body

    if source in ("tokopedia", "lazada"):
        basic = base64.b64encode(f"{cred['login']}:{cred['password']}".encode()).decode()
        conn.request(
            "POST",
            "/oauth/token",
            body="grant_type=client_credentials",
            headers={
                "Authorization": f"Basic {basic}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        token = json.loads(conn.getresponse().read())["access_token"]
        cursor = None
        while True:
            q = {"snapshot": snapshot, "limit": 5000}
            if cursor:
                q["cursor"] = cursor
            doc = decode(get(f"/v1/merchants?{urlencode(q)}", {"Authorization": f"Bearer {token}"}))
            n += len(doc["data"])
            cursor = doc["next_cursor"]
            if cursor is None:
                break
    elif source == "shopee":
        page = 1
        while True:
            ts = int(time.time())
            pid, key = str(cred["partner_id"]), cred["partner_key"]
            path = "/api/v2/merchants"
            sign = hmac.new(key.encode(), f"{pid}{path}{ts}".encode(), hashlib.sha256).hexdigest()
            q = {"snapshot": snapshot, "page": page, "page_size": 1000, "partner_id": pid,
                 "timestamp": ts, "sign": sign}  # fmt: skip
            doc = decode(get(f"{path}?{urlencode(q)}"))["response"]
            n += len(doc["merchants"])
            if not doc["has_more"]:
                break
            page += 1
    elif source in ("bukalapak", "blibli"):
        offset = 0
        while True:
            q = {"snapshot": snapshot, "offset": offset, "limit": 2000}
            doc = decode(get(f"/api/stores?{urlencode(q)}", {"X-Api-Key": cred["api_key"]}))
            n += len(doc["stores"])
            offset += 2000
            if offset >= doc["meta"]["total"]:
                break
    elif source in ("blanja", "mataharimall"):
        manifest = json.loads(get(f"/exports/{snapshot}/manifest.json"))
        for entry in manifest["files"]:
            data = get(f"/exports/{snapshot}/{entry['name']}")
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            n += gzip.decompress(data).count(b"\n") - 1
    elif source == "kemenkopukm":
        auth = {"Authorization": cred["password"]}
        pkg = decode(get("/api/3/action/package_show?id=umkm-go-online", auth))
        name = "umkm_go_online_" + snapshot.replace("-", "")
        rid = next(r["id"] for r in pkg["result"]["resources"] if r["name"] == name)
        offset = 0
        while True:
            q = {"resource_id": rid, "limit": 32000, "offset": offset}
            doc = decode(get(f"/api/3/action/datastore_search?{urlencode(q)}", auth))["result"]
            n += len(doc["records"])
            offset += 32000
            if offset >= doc["total"]:
                break
    elif source == "kemenperin":
        import openpyxl

        for year in range(2017, int(snapshot[:4]) + 1):
            book = openpyxl.load_workbook(io.BytesIO(get(f"/esmart/peserta/{year}.xlsx")))
            n += sum(1 for row in book["Peserta"].iter_rows(min_row=5) if row[0].value is not None)
    return source, n, time.perf_counter() - started, nbytes


class MemorySampler(threading.Thread):
    """Peak RSS (summed) and PSS of a process and its children."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak_rss = self.peak_pss = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            rss = pss = 0
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                for p in procs:
                    try:
                        info = p.memory_full_info()
                        rss += info.rss
                        pss += getattr(info, "pss", info.rss)
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        pass
            except psutil.NoSuchProcess:
                return
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.stop.wait(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--snapshot", default="2017-11-15")
    parser.add_argument("--sources", nargs="*", default=SOURCES)
    parser.add_argument("--sequential", action="store_true", help="one source at a time")
    parser.add_argument("--profile", choices=("default", "heldout"), default="default")
    args = parser.parse_args()

    t0 = time.perf_counter()
    sim = start_simulator(args.seed, args.scale, [args.snapshot], profile=args.profile)
    startup = time.perf_counter() - t0
    sampler = MemorySampler(sim.pid)
    sampler.start()
    print(f"scale {args.scale}: simulator ready in {startup:.1f}s (world drawn, 11 listeners)")
    server = psutil.Process(sim.pid)
    listeners = server.children()

    def server_cpu() -> float:
        total = 0.0
        for proc in [server, *listeners]:
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    cpu_before = server_cpu()
    try:
        started = time.perf_counter()
        jobs = [(s, sim.env[f"AIRFLOW_CONN_UMKM_{s.upper()}"], args.snapshot) for s in args.sources]
        if args.sequential:
            results = [pull(*job) for job in jobs]
        else:
            with ProcessPoolExecutor(max_workers=len(jobs)) as pool:
                results = list(pool.map(pull, *zip(*jobs, strict=True)))
        wall = time.perf_counter() - started
        cpu_used = server_cpu() - cpu_before
    finally:
        sampler.stop.set()
        sampler.join()
        sim.stop()
    total = 0
    print(f"{'source':<14}{'records':>12}{'seconds':>10}{'records/s':>12}{'MB':>9}")
    for source, n, seconds, nbytes in results:
        total += n
        print(f"{source:<14}{n:>12,}{seconds:>10.1f}{n / seconds:>12,.0f}{nbytes / 1e6:>9.1f}")
    mode = "sequential" if args.sequential else "concurrent"
    print(f"{'aggregate':<14}{total:>12,}{wall:>10.1f}{total / wall:>12,.0f}   ({mode})")
    print(
        f"server CPU time for the pull: {cpu_used:,.1f} s -> {total / max(cpu_used, 1e-9):,.0f} "
        "records per server CPU-second (what an idle machine with N free cores scales by)"
    )
    print(
        f"server peak memory: PSS {sampler.peak_pss / 2**20:,.0f} MiB, "
        f"RSS summed over {1 + 11} processes {sampler.peak_rss / 2**20:,.0f} MiB"
    )
    print(f"machine: {psutil.cpu_count()} CPUs, load average {psutil.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
