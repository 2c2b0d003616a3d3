"""Same seed and scale, same bytes; `--faults flaky` produces every fault kind, and a client
that follows the contract still gets exactly the records of the truth."""

from __future__ import annotations

import hashlib
from email.utils import parsedate_to_datetime

import requests

from sim.client import Client, parse_conn
from sim.conftest import HEADLINE, SCALE, SEED
from umkm.sim import start_simulator, write_truth


def _raw_pages(env: dict[str, str]) -> dict[str, bytes]:
    """A few answers of every source, as bytes."""
    out = {}
    conn = lambda s: env[f"AIRFLOW_CONN_UMKM_{s.upper()}"]  # noqa: E731
    for source in ("tokopedia", "lazada"):
        c = Client(conn(source))
        token = c.fetch_token()
        answer = requests.get(
            f"{c.conn.base_url}/v1/merchants",
            params={"snapshot": HEADLINE, "limit": 300},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        out[source] = answer.content
    c = Client(conn("shopee"))
    path = "/api/v2/merchants"
    params = {"snapshot": HEADLINE, "page": 2, "page_size": 300, **c.signed_params(path)}
    out["shopee"] = requests.get(c.conn.base_url + path, params=params, timeout=10).content
    for source in ("bukalapak", "blibli"):
        c = Client(conn(source))
        out[source] = requests.get(
            f"{c.conn.base_url}/api/stores",
            params={"snapshot": HEADLINE, "offset": 100, "limit": 300},
            headers={"X-Api-Key": c.conn.extra["api_key"]},
            timeout=10,
        ).content
    for source in ("blanja", "mataharimall"):
        c = Client(conn(source))
        manifest = requests.get(f"{c.conn.base_url}/exports/{HEADLINE}/manifest.json", timeout=10)
        name = manifest.json()["files"][0]["name"]
        out[source] = (
            manifest.content
            + requests.get(f"{c.conn.base_url}/exports/{HEADLINE}/{name}", timeout=10).content
        )
    c = Client(conn("kemenkopukm"))
    rid = c.ckan_resource(HEADLINE)
    out["kemenkopukm"] = requests.get(
        f"{c.conn.base_url}/api/3/action/datastore_search",
        params={"resource_id": rid, "limit": 500, "offset": 200},
        headers={"Authorization": c.conn.password},
        timeout=10,
    ).content
    out["kemenperin"] = Client(conn("kemenperin")).xlsx(2018).content
    out["kominfo"] = Client(conn("kominfo")).summary(HEADLINE).content
    return out


def test_same_seed_same_bytes(sim, tmp_path):
    first = _raw_pages(sim.env)
    with start_simulator(SEED, SCALE, [HEADLINE]) as other:
        second = _raw_pages(other.env)
    assert first.keys() == second.keys()
    for source in first:
        assert first[source] == second[source], source


def test_write_truth_is_deterministic(tmp_path):
    a = write_truth(tmp_path / "a", SEED, SCALE, ["2018-03-15"])
    b = write_truth(tmp_path / "b", SEED, SCALE, "2018-03-15")
    for name in ("records.csv", "world.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    other = write_truth(tmp_path / "c", SEED + 1, SCALE, "2018-03-15")
    assert (other / "records.csv").read_bytes() != (a / "records.csv").read_bytes()


def _digest(records: list[dict], key: str) -> list[str]:
    return [r[key] for r in records]


def test_flaky_faults(truth_records, tmp_path):
    with start_simulator(SEED, SCALE, [HEADLINE], faults="flaky") as flaky:
        env = flaky.env
        conn = lambda s: env[f"AIRFLOW_CONN_UMKM_{s.upper()}"]  # noqa: E731
        oauth = Client(conn("tokopedia"))
        records = oauth.pull_oauth(HEADLINE, limit=100)
        assert _digest(records, "shop_id") == truth_records[(HEADLINE, "tokopedia")]
        seen = set(oauth.log)
        assert {429, 401, "broken"} <= seen, seen
        assert seen & {500, 502, 503, 504}, seen

        shopee = Client(conn("shopee"))
        base = shopee.conn.base_url
        answer = requests.get(base + "/api/v2/merchants", timeout=10)
        skew = parsedate_to_datetime(answer.headers["Date"]).timestamp() - answer_time()
        assert 60 < skew < 300  # the partner's clock runs ahead, within the window
        records = shopee.pull_signed(HEADLINE, page_size=100)
        assert _digest(records, "shopid") == truth_records[(HEADLINE, "shopee")]

        files = Client(conn("blanja"))
        rows, _raw, _manifest = files.pull_files(HEADLINE, ",")
        assert "checksum" in files.log  # the first download failed its checksum
        assert _digest(rows, "merchant_id") == truth_records[(HEADLINE, "blanja")]

        ckan = Client(conn("kemenkopukm"))
        records = ckan.pull_ckan(HEADLINE, limit=300)
        assert _digest(records, "id_umkm") == truth_records[(HEADLINE, "kemenkopukm")]
        assert 429 in ckan.log
        retry_after = None
        probe = Client(conn("bukalapak"))
        for _ in range(40):
            r = requests.get(
                probe.conn.base_url + "/api/stores",
                params={"snapshot": HEADLINE, "limit": 10},
                headers={"X-Api-Key": parse_conn(conn("bukalapak")).extra["api_key"]},
                timeout=10,
            )
            if r.status_code == 429:
                retry_after = r.headers.get("Retry-After")
                break
        assert retry_after == "1"


def answer_time() -> float:
    import time

    return time.time()


def test_flaky_is_seeded():
    """The same requests against the same seed meet the same faults."""

    def statuses() -> list:
        with start_simulator(SEED, SCALE, [HEADLINE], faults="flaky") as s:
            c = Client(s.env["AIRFLOW_CONN_UMKM_BUKALAPAK"], max_attempts=1)
            out = []
            for i in range(30):
                try:
                    r = c.session.get(
                        c.conn.base_url + "/api/stores",
                        params={"snapshot": HEADLINE, "offset": i, "limit": 50},
                        headers={"X-Api-Key": c.conn.extra["api_key"]},
                        timeout=10,
                    )
                    out.append((r.status_code, hashlib.sha256(r.content).hexdigest()[:8]))
                except requests.RequestException:
                    out.append("broken")
                    c.session = requests.Session()
            return out

    assert statuses() == statuses()


def test_no_list_count_follows_the_odds_ratio():
    """The planted no-list population makes the marketplace x registry odds ratio over all
    online UMKM what the config says: doubling it doubles the 'neither' cell."""
    from datetime import date

    from umkm.sim.config import SimConfig
    from umkm.sim.truth import bridge
    from umkm.sim.world import build_world

    snap = date(2017, 11, 15)
    base = build_world(SimConfig(seed=11, scale=0.001))
    independent = bridge(base, snap)["true_online_umkm"]
    doubled_world = build_world(SimConfig(seed=11, scale=0.001, list_odds_ratio=2.0))
    doubled = bridge(doubled_world, snap)["true_online_umkm"]
    assert independent["listed"] == doubled["listed"]  # same feeds
    assert independent["on_no_list"] > 0
    # neither = OR x only_m x only_r / both; e-Smart-only businesses fill part of it
    # (with n = only_m x only_r / both: independent = n - e, doubled = 2n - e)
    esmart_only = doubled["on_no_list"] - 2 * independent["on_no_list"]
    assert 0 <= esmart_only < 0.2 * independent["on_no_list"]
