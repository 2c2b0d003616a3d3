"""Proof by a new source (issue 20, item 2): a new government list is its registry entry.

`jakpreneur` is a government list of UMKM the repository does not have (a provincial
programme's members): kind `government_list`, on the contract's CKAN protocol (its own
package and resource names), its own field names, a free-text city instead of a regency code,
`dd/mm/yyyy` registration dates and its own status words in mixed case, served by a
loopback `FeedServer`. The test writes a registry with its entry, runs the documented
commands into copies, ingests it beside tokopedia (some of whose shops are the same
businesses) and the region reference, builds the marts with dbt, and checks that it is
validated, staged, resolved, and counted as a list of its own in the population estimate.
No code knows its name.

Expected values come from the world written here, never from the pipeline's output.
"""

from __future__ import annotations

from datetime import date

import pytest
from servers.feeds import FeedServer

from tests.sources.new_source import (
    OWNERS,
    SHOPS,
    SNAPSHOT,
    new_source_world,
    phone,
    rows,
    tokopedia_shop,
)

pytestmark = pytest.mark.dbt

NEW = "jakpreneur"

#: The new list's registry entry: nothing else in the repository names it.
ENTRY = f"""
  {NEW}:
    name: Jakpreneur DKI Jakarta
    kind: government_list
    protocol: ckan
    conn_id: umkm_{NEW}
    updated_since: false
    id_field: no_registrasi
    founded: "2015-01-01"
    optional: [phone]
    page_size: 6
    options: {{package_id: jakpreneur-anggota, resource_prefix: anggota_jakpreneur_}}
    fields:
      id: no_registrasi
      shop_name: nama_usaha
      owner_name: nama_pelaku_usaha
      phone: telepon
      street: alamat_usaha
      city: kota_administrasi
      province: provinsi
      registered: tgl_registrasi
      status: status_keanggotaan
    formats: {{registered: dd/mm/yyyy}}
    values:
      status: {{Aktif: active, Binaan: active, Tidak Aktif: inactive}}
"""

SHARED = range(0, 8)  # a tokopedia shop and a jakpreneur member each
NEW_ONLY = range(8, 20)  # on the list only, active
INACTIVE = 20  # on the list, `Tidak Aktif`: not counted on the list
INVALID = 21  # a status word the entry does not know: quarantined
TOKO_ONLY = range(22, 30)  # tokopedia only


def _id(i: int) -> str:
    return f"JKP-{2000 + i}"


def _member(i: int, *, status: str = "Aktif") -> dict:
    return {
        "no_registrasi": _id(i),
        "nama_usaha": SHOPS[i],
        "nama_pelaku_usaha": OWNERS[i].upper() if i % 2 else OWNERS[i],
        "telepon": phone(i) if i % 4 else None,
        "alamat_usaha": f"Jalan Kemang Raya Nomor {i + 1}",
        "kota_administrasi": "Kota Adm. Jakarta Selatan" if i % 3 else "Jakarta Selatan",
        "provinsi": "DKI Jakarta",
        "tgl_registrasi": f"{1 + i % 27:02d}/06/2016",
        "status_keanggotaan": "Binaan" if i % 5 == 1 and status == "Aktif" else status,
    }


MEMBERS = [
    *(_member(i) for i in [*SHARED, *NEW_ONLY]),
    _member(INACTIVE, status="Tidak Aktif"),
    _member(INVALID, status="Dibekukan"),
]
TOKOPEDIA = [tokopedia_shop(i) for i in [*SHARED, *TOKO_ONLY]]


@pytest.fixture(scope="module")
def world(admin_url, tmp_path_factory):
    """The registry with the new entry, the generated copies, a fresh warehouse, the three
    loopback feeds, everything ingested and the marts built."""
    servers = {
        "bps": FeedServer("reference-csv").start(),
        "tokopedia": FeedServer("oauth-cursor", served=TOKOPEDIA).start(),
        NEW: FeedServer(
            "ckan",
            served=MEMBERS,
            ckan_package="jakpreneur-anggota",
            ckan_prefix="anggota_jakpreneur_",
        ).start(),
    }
    select = ["+mart_online_umkm_population", "+map_record_to_entity"]
    with new_source_world(
        admin_url, tmp_path_factory.mktemp("new_government_list"), ENTRY, servers, select
    ) as built:
        yield built


def test_only_generated_files_were_added(world):
    _url, _results, project, expectations = world
    folder = project / "models" / "staging" / NEW
    assert sorted(p.name for p in folder.iterdir()) == [
        f"_{NEW}__models.yml",
        f"_{NEW}__sources.yml",
        f"stg_{NEW}__list_record_versions.sql",
        f"stg_{NEW}__list_records.sql",
    ]
    assert (expectations / "expectations" / f"raw_{NEW}.json").is_file()


def test_ingested_and_validated_with_the_invalid_record_quarantined(world):
    url, results, _project, _expectations = world
    assert {sid: r.status for sid, r in results.items()} == {
        "bps": "success",
        "tokopedia": "success",
        NEW: "success",
    }
    assert results[NEW].rows_loaded == len(MEMBERS) - 1
    assert rows(url, f"select record_id, expectation, reason from quarantine.{NEW}") == [
        (_id(INVALID), "status_allowed", "status not in the allowed set")
    ]


def test_staged_with_its_own_words_places_and_dates(world):
    url, *_ = world
    staged = {
        r[0]: r[1:]
        for r in rows(
            url,
            "select record_id, source_id, regency_code, registered_on, is_active "
            f"from staging.stg_{NEW}__list_records",
        )
    }
    assert set(staged) == {_id(i) for i in [*SHARED, *NEW_ONLY, INACTIVE]}
    # "Kota Adm. Jakarta Selatan" and "Jakarta Selatan" both resolve to BPS 3171
    assert {v[1] for v in staged.values()} == {"3171"}
    assert staged[_id(9)] == (NEW, "3171", date(2016, 6, 10), True)
    assert staged[_id(1)][3] is True  # `Binaan` maps to active
    assert staged[_id(INACTIVE)][3] is False


def _entities(url: str) -> dict[tuple[str, str], str]:
    return {
        (r[0], r[1]): r[2]
        for r in rows(
            url,
            "select source_id, record_id, entity_id from marts.map_record_to_entity "
            "where snapshot = %s",
            SNAPSHOT,
        )
    }


def test_its_members_are_resolved_with_tokopedias_shops(world):
    url, *_ = world
    entity = _entities(url)
    for i in SHARED:
        assert entity[(NEW, _id(i))] == entity[("tokopedia", f"{900000 + i}")], SHOPS[i]
    members = [_id(i) for i in [*SHARED, *NEW_ONLY, INACTIVE]]
    assert len({entity[(NEW, rid)] for rid in members}) == len(members)


def test_online_umkm_on_the_list(world):
    url, *_ = world
    facts = rows(
        url,
        "select government_lists, is_on_government_list, is_online_umkm, is_active_online "
        "from marts.fct_umkm_entity_snapshots where snapshot = %s",
        SNAPSHOT,
    )
    on_list = [f for f in facts if f[1]]
    assert len(on_list) == len(SHARED) + len(NEW_ONLY)
    assert all(f[0] == [NEW] and f[2] for f in on_list)
    assert sum(1 for f in on_list if f[3]) == len(SHARED)  # also active on tokopedia
    # the inactive member is a business of its own, on no list: not an online UMKM
    assert sum(1 for f in facts if not f[2]) == 1


def test_counted_as_a_list_of_its_own_in_the_population_estimate(world):
    url, *_ = world
    methods = {
        r[0]: r[1:]
        for r in rows(
            url,
            "select method, estimate, listed, lists_used from marts.mart_online_umkm_population "
            "where snapshot = %s",
            SNAPSHOT,
        )
    }
    n_toko = len(SHARED) + len(TOKO_ONLY)
    n_list = len(SHARED) + len(NEW_ONLY)
    both = len(SHARED)
    observed = n_toko + n_list - both
    assert methods["observed"][:2] == (observed, observed)
    assert f"{NEW} (government list)" in methods["observed"][2]
    # independence over marketplaces A and B, the registry and the list; with B and the
    # registry empty it is Lincoln-Petersen on tokopedia and the list: N = n1 n2 / m
    estimate, listed, lists_used = methods["loglinear_3list_independence"]
    assert listed == observed
    assert f"{NEW} (government list)" in lists_used
    assert abs(estimate - n_toko * n_list / both) <= 1
