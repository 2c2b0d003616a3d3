"""Every source of the simulator against CONTRACT.md, with our own client (tests/sim/client.py).

For each source a whole snapshot is pulled over HTTP; the ids served must equal
truth/records.csv exactly, and the totals must match the calibration.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import date

import openpyxl
import pytest
import requests

from sim.client import Client, parse_conn
from sim.conftest import HEADLINE, LATE, SCALE
from sim.test_calibration import regency_codes, valid_active

SNAPSHOTS = [HEADLINE, LATE]


def env(sim, source: str) -> str:
    return sim.env[f"AIRFLOW_CONN_UMKM_{source.upper()}"]


def test_every_source_has_a_connection(sim):
    expected = [
        "TOKOPEDIA", "LAZADA", "SHOPEE", "BUKALAPAK", "BLIBLI", "BLANJA", "MATAHARIMALL",
        "KEMENKOPUKM", "KEMENPERIN", "KOMINFO", "BPS",
    ]  # fmt: skip
    assert list(sim.env) == [f"AIRFLOW_CONN_UMKM_{s}" for s in expected]
    ports = {parse_conn(v).base_url for v in sim.env.values()}
    assert len(ports) == 11


@pytest.mark.parametrize("source", ["tokopedia", "lazada"])
@pytest.mark.parametrize("snapshot", SNAPSHOTS)
def test_oauth_cursor(sim, truth_records, source, snapshot):
    client = Client(env(sim, source))
    records = client.pull_oauth(snapshot, limit=700)
    assert [r["shop_id"] for r in records] == truth_records[(snapshot, source)]
    assert all(isinstance(r["shop_id"], str) for r in records)
    assert {r["tier"] for r in records} <= {"regular", "power", "official"}
    assert {r["status"] for r in records} <= {"active", "closed"}


def test_oauth_auth_and_limits(sim):
    client = Client(env(sim, "tokopedia"))
    base = client.conn.base_url
    params = {"snapshot": HEADLINE, "limit": 10}
    assert requests.get(f"{base}/v1/merchants", params=params, timeout=10).status_code == 401
    bad = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("x", "y"),
        timeout=10,
    )
    assert bad.status_code == 401
    token = client.fetch_token()
    auth = {"Authorization": f"Bearer {token}"}
    over = requests.get(
        f"{base}/v1/merchants", params={**params, "limit": 5001}, headers=auth, timeout=10
    )
    assert over.status_code == 400
    missing = requests.get(
        f"{base}/v1/merchants",
        params={**params, "snapshot": "2016-06-15"},
        headers=auth,
        timeout=10,
    )
    assert missing.status_code == 404
    assert missing.json() == {"error": "snapshot_not_found"}
    # a page in the middle is the same page when asked again (stable order)
    first = requests.get(f"{base}/v1/merchants", params=params, headers=auth, timeout=10).json()
    again = requests.get(f"{base}/v1/merchants", params=params, headers=auth, timeout=10).json()
    assert first == again and first["next_cursor"]


def test_oauth_updated_since(sim, truth_records):
    client = Client(env(sim, "tokopedia"))
    full = client.pull_oauth(HEADLINE, limit=5000)
    since = "2017-11-01T00:00:00Z"
    changed = client.pull_oauth(HEADLINE, limit=300, since=since)
    assert 0 < len(changed) < len(full)
    expected = [r["shop_id"] for r in full if r["updated_at"] > "2017-11-01T07:00:00+07:00"]
    assert [r["shop_id"] for r in changed] == expected


@pytest.mark.parametrize("snapshot", SNAPSHOTS)
def test_signed_page(sim, truth_records, snapshot):
    client = Client(env(sim, "shopee"))
    records = client.pull_signed(snapshot, page_size=250)
    assert [r["shopid"] for r in records] == truth_records[(snapshot, "shopee")]
    assert {r["status"] for r in records} <= {"NORMAL", "BANNED", "FROZEN"}
    assert all(isinstance(r["ctime"], int) for r in records)


def test_signed_page_signing(sim):
    client = Client(env(sim, "shopee"))
    base, path = client.conn.base_url, "/api/v2/merchants"
    query = {"snapshot": HEADLINE, "page": 1, "page_size": 10}
    good = requests.get(base + path, params={**query, **client.signed_params(path)}, timeout=10)
    assert good.status_code == 200
    bad = {**client.signed_params(path), "sign": "0" * 64}
    answer = requests.get(base + path, params={**query, **bad}, timeout=10)
    assert answer.status_code == 403 and answer.json()["error"] == "invalid_sign"
    old = client.signed_params(path)
    client.clock_offset = -1000
    stale = client.signed_params(path)
    client.clock_offset = 0
    assert old != stale
    answer = requests.get(base + path, params={**query, **stale}, timeout=10)
    assert answer.status_code == 403
    big = {**query, "page_size": 1001, **client.signed_params(path)}
    assert requests.get(base + path, params=big, timeout=10).status_code == 400
    past = {**query, "page": 10_000, **client.signed_params(path)}
    body = requests.get(base + path, params=past, timeout=10).json()["response"]
    assert body["merchants"] == [] and body["has_more"] is False


@pytest.mark.parametrize("source", ["bukalapak", "blibli"])
@pytest.mark.parametrize("snapshot", SNAPSHOTS)
def test_apikey_offset(sim, truth_records, source, snapshot):
    client = Client(env(sim, source))
    records = client.pull_apikey(snapshot, limit=600)
    ids = [r["store_id"] for r in records]
    assert ids == truth_records[(snapshot, source)]
    assert ids == sorted(ids)  # ordered by store id compared as strings
    assert all(isinstance(r["address"], dict) and r["address"]["city"] for r in records)


def test_apikey_auth_and_limits(sim):
    client = Client(env(sim, "bukalapak"))
    base = client.conn.base_url
    params = {"snapshot": HEADLINE, "offset": 0, "limit": 10}
    assert requests.get(f"{base}/api/stores", params=params, timeout=10).status_code in (401, 403)
    key = {"X-Api-Key": client.conn.extra["api_key"]}
    over = {**params, "limit": 2001}
    assert (
        requests.get(f"{base}/api/stores", params=over, headers=key, timeout=10).status_code == 400
    )
    gone = {**params, "snapshot": "2020-02-15"}
    answer = requests.get(f"{base}/api/stores", params=gone, headers=key, timeout=10)
    assert answer.status_code == 404 and answer.json() == {"message": "no export for snapshot"}


@pytest.mark.parametrize(
    ("source", "delimiter", "ending"), [("blanja", ",", b"\n"), ("mataharimall", ";", b"\r\n")]
)
@pytest.mark.parametrize("snapshot", SNAPSHOTS)
def test_file_drop(sim, truth_records, source, delimiter, ending, snapshot):
    import gzip

    client = Client(env(sim, source))
    pulled = client.pull_files(snapshot, delimiter)
    if source == "mataharimall" and snapshot > "2018-12-31":
        assert pulled is None  # MatahariMall.com publishes nothing after 2018
        assert truth_records[(snapshot, source)] == []
        return
    rows, files, _manifest = pulled
    assert [r["merchant_id"] for r in rows] == truth_records[(snapshot, source)]
    text = gzip.decompress(files[0])
    lines = text.split(ending)
    assert len(lines) > 2 and lines[-1] == b""
    if ending == b"\n":
        assert b"\r\n" not in text
    assert lines[0].decode().split(delimiter)[:3] == ["merchant_id", "nama_toko", "nama_pemilik"]
    assert {r["tipe"] for r in rows} <= {"umum", "resmi"}
    assert {r["status"] for r in rows} <= {"aktif", "tutup"}
    assert all(len(r["tgl_bergabung"]) == 10 and r["tgl_bergabung"][2] == "/" for r in rows)


@pytest.mark.parametrize("snapshot", SNAPSHOTS)
def test_ckan(sim, truth_records, sim_dir, snapshot):
    client = Client(env(sim, "kemenkopukm"))
    records = client.pull_ckan(snapshot, limit=1500)
    assert [r["id_umkm"] for r in records] == truth_records[(snapshot, "kemenkopukm")]
    distinct = {r["id_umkm"]: r for r in records}  # a duplicated delivery counts once
    statuses = Counter(r["status"] for r in distinct.values())
    assert set(statuses) <= {"aktif", "nonaktif"}
    if snapshot == HEADLINE:  # Kemenkop's figure counts the valid records exactly
        valid = valid_active(records, date.fromisoformat(snapshot), regency_codes())
        assert valid == round(3_790_000 * SCALE) < statuses["aktif"]
    world = json.loads((sim_dir / "truth" / "world.json").read_text())
    totals = world["snapshots"][snapshot]["totals"]
    assert totals["registry_active_records_served"] == statuses["aktif"]


def test_ckan_auth_and_limits(sim):
    client = Client(env(sim, "kemenkopukm"))
    base = client.conn.base_url + "/api/3/action/"
    assert (
        requests.get(base + "package_show", params={"id": "umkm-go-online"}, timeout=10).status_code
        == 403
    )
    rid = client.ckan_resource(HEADLINE)
    assert rid and client.ckan_resource("2020-01-15") is None
    auth = {"Authorization": client.conn.password}
    over = {"resource_id": rid, "limit": 32001}
    answer = requests.get(base + "datastore_search", params=over, headers=auth, timeout=10)
    assert answer.status_code == 400 and answer.json()["success"] is False


def _sheet(content: bytes):
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=False)
    assert book.sheetnames.index("Peserta") > 0  # another sheet comes first
    return book["Peserta"]


@pytest.mark.parametrize("snapshot", SNAPSHOTS)
def test_xlsx(sim, truth_records, snapshot):
    client = Client(env(sim, "kemenperin"))
    numbers = []
    for year in range(2017, int(snapshot[:4]) + 1):
        answer = client.xlsx(year)
        assert answer.status_code == 200
        ws = _sheet(answer.content)
        assert ws["A1"].value and ws["A4"].value == "No"
        header = [c.value for c in ws[4]]
        assert header == [
            "No", "Nama IKM", "Nama Pemilik", "No. Telp", "Alamat", "Kabupaten/Kota",
            "Provinsi", "Komoditas", "Sentra IKM", "Tahun Pelatihan", "Marketplace",
        ]  # fmt: skip
        data = [row for row in ws.iter_rows(min_row=5, values_only=True)]
        filled = [row for row in data if row[0] is not None]
        assert data[-1][0] is None  # trailing empty rows
        assert all(isinstance(row[0], int) for row in filled)
        assert {row[9] for row in filled} == {year}
        numbers += [str(row[0]) for row in filled]
    assert numbers == truth_records[(snapshot, "kemenperin")]


def test_xlsx_unpublished_year(sim):
    client = Client(env(sim, "kemenperin"))
    assert client.xlsx(2016).status_code == 404
    assert client.xlsx(2020).status_code == 404


def test_kominfo_summary(sim, sim_dir):
    client = Client(env(sim, "kominfo"))
    doc = client.summary(HEADLINE).json()
    assert doc["tanggal"] == HEADLINE
    assert doc["total"] == round(4_600_000 * SCALE)
    assert doc["total"] == sum(r["jumlah"] for r in doc["rincian"])
    names = [r["sumber"] for r in doc["rincian"]]
    assert names == [
        "Tokopedia", "Lazada", "Shopee", "Bukalapak", "Blibli.com", "Blanja.com",
        "MatahariMall.com", "Kementerian/Lembaga",
    ]  # fmt: skip
    late = client.summary(LATE).json()
    assert "MatahariMall.com" not in [r["sumber"] for r in late["rincian"]]
    assert late["total"] > doc["total"]  # growth toward the 2019 target
    assert client.summary("2016-12-31").status_code == 404
    any_day = client.summary("2018-02-03")
    assert any_day.status_code == 200
    world = json.loads((sim_dir / "truth" / "world.json").read_text())
    for snap in SNAPSHOTS:
        published = world["snapshots"][snap]["bridge"]["kominfo_published"]
        assert published == client.summary(snap).json()["total"]


def test_bps_reference(sim):
    client = Client(env(sim, "bps"))
    regencies = client.request("GET", "/wilayah/regencies.csv")
    lines = [x for x in regencies.text.splitlines() if x.strip()]
    assert len(lines) == 514
    assert client.request("GET", "/wilayah/nothing.csv").status_code == 404


def test_truth_bridge_closes(sim, sim_dir):
    world = json.loads((sim_dir / "truth" / "world.json").read_text())
    order = [
        "kominfo_published", "feed_recount_gap", "ministry_list_records",
        "same_platform_duplicate_shops", "cross_platform_duplicates", "large_enterprises",
        "dormant_accounts", "not_in_registry", "registry_only", "kemenkopukm_registry",
    ]  # fmt: skip
    for snap in SNAPSHOTS:
        doc = world["snapshots"][snap]
        steps = doc["steps"]
        assert [s["step_id"] for s in steps] == order
        assert sum(s["value"] for s in steps[:-1]) == steps[-1]["value"]
        assert doc["residual"] == 0
        for step_id in order[3:9]:  # every entity-resolution step is planted
            assert doc["bridge"][step_id] != 0, step_id
        assert doc["true_online_umkm"]["total"] > doc["true_online_umkm"]["listed"]
        assert any(doc["invalid_records"].values())
