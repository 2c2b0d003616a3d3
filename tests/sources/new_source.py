"""A world for the new-source proofs (issue 20, item 2): a registry with one more entry, its
generated files, a fresh warehouse, loopback feeds, everything ingested and built.

`new_source_world` runs the documented steps of docs/INGESTION.md ("Adding a source") the
way an operator would: copy the registry and add the entry, `umkm sources generate`,
`umkm validate --write-suites`, bootstrap, ingest each source with the real ingest service
from its loopback `FeedServer`, `dbt build` of the selected marts. The shop names, owners and
phones are the tests' own; the expected values of each test come from its world.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from servers.feeds import FeedServer

from tests.conftest import drop_test_database
from umkm import settings
from umkm.cli import main
from umkm.ingest import LoadResult, ingest_source
from umkm.transform.dbt import run_dbt
from umkm.warehouse.bootstrap import bootstrap, ensure_database
from umkm.warehouse.db import connect, with_database

SNAPSHOT = "2017-11-15"

# Businesses: distinct shop names, owners and phones (Jakarta Selatan, the one regency of the
# loopback region reference besides Simeulue).
SHOPS = [
    "Batik Sekar Arum",
    "Kopi Gayo Merapi",
    "Keripik Pedas Mak Ijah",
    "Sambal Bu Rudy Kemang",
    "Rotan Cipta Karya",
    "Tas Kulit Garut Abadi",
    "Jamu Sehat Mbok Darmi",
    "Madu Hutan Sumbawa",
    "Kerudung Syari Aisyah",
    "Sepatu Rajut Nusantara",
    "Lampu Hias Bambu Indah",
    "Kue Kering Oma Lies",
    "Tenun Ikat Sumba Lestari",
    "Mainan Kayu Ceria",
    "Dimsum Frozen Pak Liem",
    "Parfum Refill Wangi Sejati",
    "Sabun Herbal Alami Ayu",
    "Bonsai Taman Asri",
    "Kaos Sablon Distro Bejo",
    "Gerabah Kasongan Jaya",
    "Perak Kotagede Halus",
    "Rendang Uni Nel",
    "Kacamata Optik Terang",
    "Sandal Jepit Karet Prima",
    "Batu Akik Martapura",
    "Teh Tubruk Wangi Melati",
    "Bakpia Kukus Tugu",
    "Cat Tembok Warna Warni",
    "Boneka Flanel Lucu",
    "Keramik Plered Antik",
    "Dompet Anyaman Pandan",
    "Songket Palembang Elok",
    "Tempe Kripik Malang",
    "Sarung Tenun Samarinda",
]
OWNERS = [
    "Sri Wahyuni",
    "Budi Santoso",
    "Siti Aminah",
    "Rudy Hartono",
    "Agus Salim",
    "Dewi Lestari",
    "Darmi Rahayu",
    "Hendra Gunawan",
    "Aisyah Putri",
    "Yusuf Maulana",
    "Indah Permata",
    "Lies Susanti",
    "Maria Ndapa",
    "Joko Widodo",
    "Liem Swie King",
    "Ratna Sari",
    "Ayu Kartika",
    "Bambang Pamungkas",
    "Bejo Sugiarto",
    "Slamet Riyadi",
    "Wulan Guritno",
    "Nelly Marlina",
    "Teguh Prakoso",
    "Fajar Nugroho",
    "Rizky Febian",
    "Melati Suryani",
    "Tugu Prasetyo",
    "Eko Patrio",
    "Citra Kirana",
    "Asep Sunandar",
    "Putu Wijaya",
    "Nyoman Sukerta",
    "Made Wirawan",
    "Ketut Suardana",
]
assert len(SHOPS) == len(OWNERS) == len(set(SHOPS)) == len(set(OWNERS))


def phone(i: int) -> str:
    return f"0812{7000000 + 7919 * i:08d}"


def tokopedia_shop(i: int) -> dict:
    return {
        "shop_id": f"{900000 + i}",
        "shop_name": SHOPS[i],
        "owner_name": OWNERS[i],
        "phone": phone(i),
        "email": None,
        "address": f"Jl. Kemang Raya No. {i + 1}",
        "city": "Jakarta Selatan",
        "province": "DKI Jakarta",
        "tier": "regular",
        "category": "Fashion Wanita",
        "product_count": 20 + i,
        "nib": None,
        "joined_at": "2015-03-01T10:00:00+07:00",
        "last_active_at": f"2017-11-{1 + i % 12:02d}T09:00:00+07:00",
        "status": "active",
        "updated_at": f"2017-11-{1 + i % 12:02d}T09:00:00+07:00",
    }


@contextmanager
def new_source_world(
    admin_url: str,
    tmp: Path,
    entry: str,
    servers: dict[str, FeedServer],
    select: list[str],
) -> Iterator[tuple[str, dict[str, LoadResult], Path, Path]]:
    """The registry plus `entry` (YAML under `sources:`), its generated copies, a fresh
    warehouse, `servers` (source id -> a started FeedServer, ingested in that order) and the
    dbt build of `select` with their parents: yields (url, ingest results, dbt project
    copy, expectations copy); stops the servers and drops the database afterwards."""
    registry = tmp / "registry.yaml"
    registry.write_text(
        (settings.REPO_ROOT / "plugins/umkm/sources/registry.yaml").read_text() + entry
    )
    project, expectations = tmp / "dbt_project", tmp / "expectations"
    shutil.copytree(
        settings.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "dbt_packages")
    )
    shutil.copytree(
        settings.EXPECTATIONS_DIR, expectations, ignore=shutil.ignore_patterns("uncommitted")
    )
    env = {
        "UMKM_SOURCE_REGISTRY": str(registry),
        "UMKM_DBT_PROJECT_DIR": str(project),
        "UMKM_EXPECTATIONS_DIR": str(expectations),
        "UMKM_STATE_DIR": str(tmp / "state"),
        **{f"AIRFLOW_CONN_UMKM_{sid.upper()}": s.conn_uri() for sid, s in servers.items()},
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    name = f"t12_{tmp.name}_{os.getpid()}".lower()
    ensure_database(admin_url, name)
    url = with_database(admin_url, name)
    try:
        # the documented steps: generate the staging files, write the suites
        assert main(["sources", "generate"]) == 0
        assert main(["validate", "--write-suites"]) == 0
        assert main(["sources", "generate", "--check"]) == 0
        with connect(url) as conn:
            bootstrap(conn)  # the new source's raw and quarantine tables from the registry
        results = {sid: ingest_source(sid, SNAPSHOT, url=url, alert=False) for sid in servers}
        run_dbt(
            ["build", "--select", *select, "--indirect-selection", "cautious"],
            url=url,
            capture=True,
        )
        yield url, results, project, expectations
    finally:
        for server in servers.values():
            server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        drop_test_database(admin_url, url)


def rows(url: str, query: str, *args) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(query, args).fetchall()
