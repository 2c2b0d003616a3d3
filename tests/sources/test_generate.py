"""`umkm sources generate`: the marketplaces' dbt staging files follow the registry."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from umkm import settings
from umkm.cli import main
from umkm.sources import generate, load_registry
from umkm.transform.dbt import dbt_environment, dbt_executable
from umkm.warehouse import raw_history
from umkm.warehouse.db import connect

REGISTRY_TEXT = (settings.REPO_ROOT / "plugins/umkm/sources/registry.yaml").read_text()

#: A marketplace the repository does not have: its own field names (one nested), ISO
#: calendar dates, its own tier and status words.
PASARKU = """
  pasarku:
    name: Pasarku.id
    kind: marketplace
    protocol: apikey-offset
    conn_id: umkm_pasarku
    updated_since: false
    id_field: kode_toko
    founded: "2016-01-01"
    optional: [phone]
    page_size: 2000
    fields:
      id: kode_toko
      shop_name: nama_lapak
      owner_name: pemilik
      phone: hp
      email: surel
      street: lokasi.jalan
      city: lokasi.kota
      province: lokasi.provinsi
      tier: golongan
      category: jenis
      product_count: banyak_barang
      licence: nib
      opened: tanggal_buka
      last_active: terakhir_masuk
      status: keadaan
    formats: {opened: yyyy-mm-dd, last_active: yyyy-mm-dd}
    values:
      tier: {biasa: regular, pilihan: regular, merek_resmi: brand_owner}
      status: {buka: active, libur: active, ditutup: closed, diblokir: closed}
"""


def _registry(tmp_path, text: str):
    path = tmp_path / "registry.yaml"
    path.write_text(text)
    return path


def _project_copy(tmp_path):
    """The repository's dbt project, copied (its generated files included)."""
    copy = tmp_path / "dbt_project"
    shutil.copytree(
        settings.DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "dbt_packages")
    )
    return copy


def _files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_check_passes_on_the_repository(capsys):
    assert main(["sources", "generate", "--check"]) == 0
    assert capsys.readouterr().err == ""


def test_generation_is_deterministic(tmp_path):
    registry = load_registry()
    assert generate.render(registry) == generate.render(registry)
    first, second = _project_copy(tmp_path / "a"), _project_copy(tmp_path / "b")
    shutil.rmtree(first / "macros" / "generated")
    generate.write(registry, first)
    generate.write(registry, second)
    assert _files(first) == _files(second)
    assert generate.write(registry, first) == []


def test_every_generated_file_says_so_in_its_first_line():
    for rel, text in generate.render(load_registry()).items():
        header = generate.SQL_HEADER if rel.suffix == ".sql" else generate.YAML_HEADER
        assert text.splitlines()[0] == header, rel
        assert "umkm sources generate" in header and "do not edit by hand" in header


def test_a_changed_registry_entry_fails_the_check_by_name(tmp_path, capsys):
    changed = REGISTRY_TEXT.replace("FROZEN: closed", "FROZEN: active", 1)
    assert changed != REGISTRY_TEXT
    registry = _registry(tmp_path, changed)
    assert main(["sources", "generate", "--check", "--registry", str(registry)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "macros/generated/source_registry.sql (differs)" in err
    assert err.rstrip().endswith("run `umkm sources generate`")


def test_a_hand_edit_of_a_generated_file_fails_the_check(tmp_path):
    project = _project_copy(tmp_path)
    model = project / "models/staging/lazada/_lazada__models.yml"
    model.write_text(model.read_text().replace("Snapshot date.", "The snapshot."))
    assert generate.drift(load_registry(), project) == [
        "models/staging/lazada/_lazada__models.yml (differs)"
    ]


def test_a_marketplace_needs_what_staging_reads(tmp_path):
    broken = _registry(tmp_path, REGISTRY_TEXT + PASARKU.replace("      email: surel\n", ""))
    with pytest.raises(ValueError, match=r"^source pasarku: a marketplace's fields needs email$"):
        generate.render(load_registry(broken))


#: A government list the repository does not have (staged by the macro `stage_list`).
DESAKU = """
  desaku:
    name: UMKM Desaku
    kind: government_list
    protocol: ckan
    conn_id: umkm_desaku
    updated_since: false
    id_field: nomor
    options: {package_id: umkm-desaku, resource_prefix: desaku_}
    fields:
      id: nomor
      shop_name: usaha
      owner_name: pemilik
      city: kabupaten
      scale: kelas
      status: keadaan
    values:
      scale: {Mikro: micro, Kecil: small}
      status: {terdaftar: active, dicabut: inactive}
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("      city: kabupaten\n", "", r"a government_list's fields need regency_code or city$"),
        (
            "      scale: {Mikro: micro, Kecil: small}\n",
            "",
            r"field scale needs its values \(word as delivered: one of micro, small, medium\)$",
        ),
        ("dicabut: inactive", "dicabut: closed", r"status value 'dicabut' must map to one of"),
    ],
)
def test_a_government_list_needs_what_staging_reads(tmp_path, old, new, message):
    assert old in DESAKU
    broken = _registry(tmp_path, REGISTRY_TEXT + DESAKU.replace(old, new))
    with pytest.raises(ValueError, match=r"^source desaku: .*" + message):
        generate.render(load_registry(broken))


def test_a_government_list_gets_its_staging_files_and_words(tmp_path):
    files = generate.render(load_registry(_registry(tmp_path, REGISTRY_TEXT + DESAKU)))
    model = files[generate.STAGING_DIR / "desaku" / "stg_desaku__list_records.sql"]
    assert model.endswith("{{ stage_list('desaku') }}\n")
    # staged by version: a table of each record's distinct contents, the model a view
    versions = files[generate.STAGING_DIR / "desaku" / "stg_desaku__list_record_versions.sql"]
    assert versions.endswith("{{ stage_list_versions('desaku') }}\n")
    models = yaml.safe_load(files[generate.STAGING_DIR / "desaku" / "_desaku__models.yml"])
    assert [m["name"] for m in models["models"]] == [
        "stg_desaku__list_records",
        "stg_desaku__list_record_versions",
    ]
    sources = yaml.safe_load(files[generate.STAGING_DIR / "desaku" / "_desaku__sources.yml"])
    assert [t["name"] for t in sources["sources"][0]["tables"]] == [
        "desaku",
        "desaku__versions",
        "desaku__deliveries",
    ]
    macro = files[generate.MACRO_FILE]
    # the list's words in lower case (staging compares lower(btrim(word)))
    assert "'scales': {'mikro': 'micro', 'kecil': 'small'}" in macro
    assert "'active_statuses': ['terdaftar']" in macro
    assert "'model': 'stg_kemenkopukm__registry_records'" in macro
    assert "'versions_model': 'stg_desaku__list_record_versions'" in macro


def test_activity_fields_need_top_level_keys_of_their_own(tmp_path):
    # raw stores the activity fields' top-level keys per delivery, apart from the version
    # staging reads every other field from
    nested = PASARKU.replace("last_active: terakhir_masuk", "last_active: lokasi.terakhir")
    assert nested != PASARKU
    with pytest.raises(
        ValueError,
        match=r"^source pasarku: fields city, province, street share their top-level key",
    ):
        generate.render(load_registry(_registry(tmp_path, REGISTRY_TEXT + nested)))


def test_a_second_registry_is_refused_by_name(tmp_path):
    second = DESAKU.replace("kind: government_list", "kind: registry")
    with pytest.raises(ValueError, match=r"^sources kemenkopukm, desaku: at most one source"):
        load_registry(_registry(tmp_path, REGISTRY_TEXT + second))


def test_an_extra_marketplace_gets_its_staging_files(tmp_path):
    registry = load_registry(_registry(tmp_path, REGISTRY_TEXT + PASARKU))
    project = _project_copy(tmp_path)
    written = generate.write(registry, project)
    folder = "models/staging/pasarku"
    assert written == [
        "macros/generated/source_registry.sql (differs)",
        f"{folder}/stg_pasarku__merchants.sql (missing)",
        f"{folder}/stg_pasarku__merchant_versions.sql (missing)",
        f"{folder}/stg_pasarku__merchant_activity.sql (missing)",
        f"{folder}/_pasarku__sources.yml (missing)",
        f"{folder}/_pasarku__models.yml (missing)",
    ]
    assert generate.drift(registry, project) == []
    staged = (project / folder / "stg_pasarku__merchants.sql").read_text()
    assert staged.splitlines()[1:] == ["{{ stage_marketplace('pasarku') }}"]
    sources = yaml.safe_load((project / folder / "_pasarku__sources.yml").read_text())
    assert sources["sources"][0]["name"] == "pasarku"
    assert "`kode_toko`" in sources["sources"][0]["tables"][0]["columns"][1]["description"]
    models = yaml.safe_load((project / folder / "_pasarku__models.yml").read_text())
    assert [m["name"] for m in models["models"]] == [
        "stg_pasarku__merchants",
        "stg_pasarku__merchant_versions",
        "stg_pasarku__merchant_activity",
    ]
    versions = (project / folder / "stg_pasarku__merchant_versions.sql").read_text()
    assert versions.splitlines()[1:] == ["{{ stage_marketplace_versions('pasarku') }}"]
    assert models["models"][0]["description"].startswith("Pasarku.id merchant accounts")
    macro = (project / generate.MACRO_FILE).read_text()
    pasarku = macro[macro.index("'source_id': 'pasarku'") :]
    assert "'street': 'lokasi.jalan'" in pasarku
    assert "'formats': {'opened': 'yyyy-mm-dd', 'last_active': 'yyyy-mm-dd'}" in pasarku
    assert "'brand_tiers': ['merek_resmi']" in pasarku
    assert "'closed_statuses': ['ditutup', 'diblokir']" in pasarku
    assert macro.index("'source_id': 'mataharimall'") < macro.index("'source_id': 'pasarku'")

    # and without it again: its generated files go, the hand-written ones stay
    generate.write(load_registry(), project)
    assert not (project / folder).exists()
    assert (project / "models/staging/tokopedia/_tokopedia__unit_tests.yml").exists()
    assert generate.drift(load_registry(), project) == []


@pytest.mark.dbt
def test_an_extra_marketplace_stages_through_dbt(tmp_path, warehouse):
    """The generated files of a new marketplace build and test in dbt, and its staged rows
    follow its registry entry (its fields, date format, tier and status words)."""
    registry = load_registry(_registry(tmp_path, REGISTRY_TEXT + PASARKU))
    project = _project_copy(tmp_path)
    generate.write(registry, project)
    records = {
        "P1": {
            "kode_toko": "P1",
            "nama_lapak": "CV Lapak Sejahtera",
            "lokasi": {"jalan": "Jl. Mawar 3", "kota": "Jaksel"},
            "golongan": "merek_resmi",
            "keadaan": "diblokir",
            "banyak_barang": 12,
            "tanggal_buka": "2016-05-02",
            "terakhir_masuk": "2017-11-01",
        },
        "P2": {
            "kode_toko": "P2",
            "nama_lapak": "Warung Bu Sri",
            "golongan": "pilihan",
            "keadaan": "libur",
            "banyak_barang": "7",
            "tanggal_buka": "2017-01-31",
            "terakhir_masuk": "2017-06-30",
        },
    }
    with connect(warehouse) as conn:
        # raw as the bootstrap makes it for a source of the registry (its versions, its
        # deliveries and the view over them); the rows written through the view, as a
        # replay writes them (the activity fields inside the version)
        conn.execute(raw_history.tables_sql(registry["pasarku"]))
        for position, (record_id, record) in enumerate(records.items()):
            conn.execute(
                "insert into raw.pasarku values ('2017-11-15', %s, %s, 'b1', %s, now())",
                (record_id, json.dumps(record), position),
            )
    env = dbt_environment(warehouse)
    env.update(
        DBT_PROJECT_DIR=str(project),
        DBT_PROFILES_DIR=str(project),
        DBT_TARGET_PATH=str(tmp_path / "target"),
        DBT_LOG_PATH=str(tmp_path / "logs"),
    )
    proc = subprocess.run(
        [dbt_executable(), "build", "--select", "+stg_pasarku__merchants"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    with connect(warehouse) as conn:
        rows = conn.execute(
            "select record_id, source_id, is_brand_store, is_closed, product_count, "
            "opened_on::text, last_active_on::text, is_dormant, regency_code "
            "from staging.stg_pasarku__merchants order by record_id"
        ).fetchall()
    assert rows == [
        ("P1", "pasarku", True, True, 12, "2016-05-02", "2017-11-01", False, "3171"),
        ("P2", "pasarku", False, False, 7, "2017-01-31", "2017-06-30", True, None),
    ]
