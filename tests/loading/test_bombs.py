"""Answers beyond the contract are bounded by the registry's limits (issue 21, item 1): a
body past max_response_bytes, a gzip part or a workbook that inflates past
max_inflated_bytes / max_inflation_ratio, a CSV line without end. Each pull stops with one
line naming the bound, lands nothing, and (the gzip bomb, measured in a process of its own)
stays far below 500 MB."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
import zlib

import pytest
from servers.feeds import SNAPSHOT
from servers.harness import FAST, loads, raw_ids

from umkm import settings
from umkm.connectors.errors import LimitExceeded
from umkm.connectors.file_drop import MAX_LINE_BYTES, InflateLimit, _open_csv
from umkm.loading import extract_load
from umkm.sources import REGISTRY_ENV

MiB = 1 << 20


def _gzip_stream(chunk: bytes, total: int, head: bytes = b"") -> bytes:
    """`head` then `chunk` repeated to `total` bytes, gzip-compressed without holding it."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    out = [packer.compress(head)]
    block = chunk * (MiB // len(chunk))
    for _ in range(total // len(block)):
        out.append(packer.compress(block))
    out.append(packer.flush())
    return b"".join(out)


def _pull_in_own_process(source_id: str, wh: str) -> dict:
    """`extract_load` of the source in a process of its own (its peak memory is the pull's):
    the LimitExceeded message, the peak RSS in MB and the seconds it took."""
    child = (
        "import json, resource, time\n"
        "from umkm.connectors.errors import LimitExceeded\n"
        "from umkm.connectors.http import RetryPolicy\n"
        "from umkm.loading import extract_load\n"
        "error, started = None, time.monotonic()\n"
        "try:\n"
        f"    extract_load('{source_id}', '{SNAPSHOT}', url='{wh}',\n"
        "                 policy=RetryPolicy(max_attempts=2, backoff_base_s=0.01))\n"
        "except LimitExceeded as exc:\n"
        "    error = str(exc)\n"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'error': error, 'max_rss_mb': rss,\n"
        "                  'seconds': time.monotonic() - started}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=300, env=os.environ
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_gzip_bomb_stops_while_it_inflates_in_little_memory(wh, feed_server):
    bomb = _gzip_stream(b"1,a\n", 1024 * MiB, head=b"merchant_id,nama_toko\n")
    assert len(bomb) < 8 * MiB  # a small download
    feed_server("file-drop", "blanja", parts=[("merchants_001.csv.gz", bomb, 5)])
    result = _pull_in_own_process("blanja", wh)
    print(f"gzip bomb pull: peak RSS {result['max_rss_mb']:.0f} MB")
    assert "limits.max_inflation_ratio" in result["error"]
    assert result["max_rss_mb"] < 500, result
    assert raw_ids(wh, "blanja", SNAPSHOT) == []
    assert loads(wh, "blanja")[-1]["status"] == "failed"


def test_a_line_without_end_is_refused_before_it_is_read_whole(tmp_path):
    path = tmp_path / "part.csv.gz"
    path.write_bytes(_gzip_stream(b"a", MAX_LINE_BYTES + MiB, head=b"id,name\n1,"))
    with pytest.raises(InflateLimit) as caught:
        list(_open_csv(path, ",", max_bytes=1 << 40, max_ratio=1e9))
    assert caught.value.args[0] == "a line's length"


def test_a_workbook_bomb_is_refused_before_anything_inflates(wh, feed_server):
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member,
    ):
        for _ in range(512):
            member.write(b" " * MiB)
    workbook = out.getvalue()
    assert len(workbook) < 4 * MiB
    feed_server("xlsx", "kemenperin", workbook=workbook, xlsx_years=(2017,))
    with pytest.raises(LimitExceeded, match=r"the workbook expands past limits\.max_inflation"):
        extract_load("kemenperin", SNAPSHOT, url=wh, policy=FAST)
    assert raw_ids(wh, "kemenperin", SNAPSHOT) == []


def test_a_body_past_max_response_bytes_is_refused_and_not_retried(
    wh, feed_server, tmp_path, monkeypatch
):
    registry = tmp_path / "registry.yaml"
    text = (settings.REPO_ROOT / "plugins/umkm/sources/registry.yaml").read_text()
    text = text.replace(
        '    id_field: shop_id\n    founded: "2009-01-01"\n',
        '    id_field: shop_id\n    founded: "2009-01-01"\n'
        "    limits: {max_response_bytes: 20000}\n",
        1,
    )
    registry.write_text(text)
    monkeypatch.setenv(REGISTRY_ENV, str(registry))
    server = feed_server("oauth-cursor", "tokopedia", count=200)
    with pytest.raises(LimitExceeded, match=r"limits\.max_response_bytes \(\d+ bytes or more"):
        extract_load("tokopedia", SNAPSHOT, url=wh, policy=FAST)
    pages = [q for _m, p, q in server.requests if p == "/v1/merchants"]
    assert len(pages) == 1  # not retried
    assert raw_ids(wh, "tokopedia", SNAPSHOT) == []


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "until-close"])
def test_a_valid_page_of_1_2_gb_is_refused_early_in_little_memory(wh, feed_server, announced):
    """The issue's lazada case with the default limits: a valid 1.2 GB JSON page, announced
    by Content-Length or not, ends at max_response_bytes (128 MiB) in seconds, far below
    500 MB, with nothing landed."""
    feed_server(
        "oauth-cursor", "tokopedia", huge_page_bytes=1200 * 1000 * 1000, huge_page_length=announced
    )
    result = _pull_in_own_process("tokopedia", wh)
    print(
        f"1.2 GB page ({'announced' if announced else 'until close'}): "
        f"{result['seconds']:.1f} s, peak RSS {result['max_rss_mb']:.0f} MB"
    )
    assert result["error"] and "limits.max_response_bytes" in result["error"], result
    assert result["max_rss_mb"] < 500, result
    assert raw_ids(wh, "tokopedia", SNAPSHOT) == []
    assert loads(wh, "tokopedia")[-1]["status"] == "failed"
