"""The source registry agrees with the feed contract."""

import re
from pathlib import Path

import pytest

from umkm import settings
from umkm.cli import main
from umkm.sources import (
    PROTOCOLS,
    REGISTRY_ENV,
    REGISTRY_FILE,
    RegistryNotFound,
    get_source,
    load_registry,
    marketplaces,
    registry_file,
)

CONTRACT = settings.shared_dir() / "feeds" / "CONTRACT.md"


def contract_sources() -> dict[str, tuple[str, bool]]:
    """source_id -> (protocol, updated_since) from the contract's Sources table."""
    rows = {}
    for line in Path(CONTRACT).read_text().splitlines():
        m = re.match(r"\| (\w+) \| [^|]+ \| ([a-z-]+)[^|]* \| (yes|no) \|", line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3) == "yes")
    return rows


def test_registry_matches_contract_sources():
    expected = contract_sources()
    assert len(expected) == 11
    registry = load_registry()
    assert set(registry) == set(expected)
    for sid, (protocol, updated_since) in expected.items():
        assert registry[sid].protocol == protocol, sid
        assert registry[sid].updated_since is updated_since, sid
        assert registry[sid].protocol in PROTOCOLS


def test_every_source_has_its_own_connection():
    registry = load_registry()
    assert {s.conn_id for s in registry.values()} == {f"umkm_{sid}" for sid in registry}
    assert get_source("tokopedia").env_var == "AIRFLOW_CONN_UMKM_TOKOPEDIA"


def test_marketplaces_share_one_canonical_shape():
    shapes = {tuple(sorted(s.fields)) for s in marketplaces() if "updated" not in s.fields}
    shapes |= {
        tuple(sorted(k for k in s.fields if k != "updated"))
        for s in marketplaces()
        if "updated" in s.fields
    }
    assert len(shapes) == 1
    assert len(marketplaces()) == 7


def test_brand_owner_tiers_are_the_contracts():
    brand = {
        raw
        for s in marketplaces()
        for raw, canonical in s.values["tier"].items()
        if canonical == "brand_owner"
    }
    assert brand == {"official", "mall", "brand", "resmi"}


def test_kominfo_names_of_marketplaces():
    names = {s.name for s in marketplaces()}
    assert names == {
        "Tokopedia",
        "Bukalapak",
        "Blibli.com",
        "Lazada",
        "Shopee",
        "Blanja.com",
        "MatahariMall.com",
    }


def test_page_sizes_within_protocol_maximum():
    maximum = {"oauth-cursor": 5000, "signed-page": 1000, "apikey-offset": 2000, "ckan": 32000}
    for source in load_registry().values():
        if source.protocol in maximum:
            assert source.page_size and source.page_size <= maximum[source.protocol], source


def test_unknown_source_names_the_known_ones():
    with pytest.raises(KeyError, match="tokopedia"):
        get_source("tokopedai")


def test_a_schedule_that_is_no_cron_is_refused_by_name(tmp_path):
    text = (settings.REPO_ROOT / "plugins/umkm/sources/registry.yaml").read_text()
    broken = tmp_path / "registry.yaml"
    broken.write_text(text.replace('"0 2 16 1 *"', '"yearly"', 1))
    with pytest.raises(ValueError, match=r"source bps: schedule 'yearly' is not a cron"):
        load_registry(broken)


def test_founded_and_optional_are_read_from_the_registry():
    shopee, tokopedia = get_source("shopee"), get_source("tokopedia")
    assert shopee.founded.isoformat() == "2015-01-01" and shopee.optional == {"phone"}
    assert tokopedia.founded.isoformat() == "2009-01-01" and tokopedia.optional == frozenset()
    assert get_source("kominfo").founded is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'founded: "2015-01-01"',
            'founded: "2015-13-01"',
            r"^source shopee: founded '2015-13-01' is not a date \(YYYY-MM-DD, quoted\)$",
        ),
        (
            "optional: [phone]",
            "optional: [phon]",
            r"^source shopee: optional 'phon' is not one of its fields \(id, shop_name, ",
        ),
        (
            "optional: [phone]",
            "optional: phone",
            r"^source shopee: optional 'phone' is not a list of field names, e\.g\. \[phone\]$",
        ),
    ],
)
def test_a_bad_founded_or_optional_is_refused_by_name(tmp_path, old, new, message):
    text = (settings.REPO_ROOT / "plugins/umkm/sources/registry.yaml").read_text()
    assert old in text
    broken = tmp_path / "registry.yaml"
    broken.write_text(text.replace(old, new, 1))
    with pytest.raises(ValueError, match=message):
        load_registry(broken)


def test_the_registry_in_use_can_be_another_file(tmp_path, monkeypatch):
    text = (settings.REPO_ROOT / "plugins/umkm/sources/registry.yaml").read_text()
    other = tmp_path / "registry.yaml"
    other.write_text(text.replace("name: Tokopedia\n", "name: Tokopedia.com\n", 1))
    assert registry_file() == REGISTRY_FILE
    monkeypatch.setenv(REGISTRY_ENV, str(other))
    assert registry_file() == other.resolve()
    assert get_source("tokopedia").name == "Tokopedia.com"
    assert [s.source_id for s in marketplaces()][:1] == ["tokopedia"]
    monkeypatch.delenv(REGISTRY_ENV)
    assert get_source("tokopedia").name == "Tokopedia"


def test_a_registry_setting_that_names_no_file_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(REGISTRY_ENV, str(tmp_path / "nowhere.yaml"))
    with pytest.raises(RegistryNotFound, match=r"UMKM_SOURCE_REGISTRY=.*nowhere\.yaml is not a"):
        load_registry()
    assert main(["ingest", "tokopedia", "--snapshot", "2017-11-15"]) == 3  # the environment
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unset it for the repository's" in err
