"""The normalisation functions of migration V010, against Python and by hand."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from tests.transform.world import insert_bps
from umkm.warehouse.db import connect


@pytest.fixture(scope="module")
def db(warehouse):
    with connect(warehouse) as conn:
        insert_bps(conn)
    return warehouse


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("+6281211112222", "dev-only-not-secret"),
        ("phone:+62215551234", "k"),
        ("ünïcödé ✓", "a key with spaces"),
        ("", "x" * 64),
        ("long key", "y" * 200),  # keys longer than the block are hashed first
    ],
)
def test_hmac_matches_python(db, value, key):
    with connect(db) as conn:
        got = conn.execute("select public.umkm_hmac(%s, %s)", (value, key)).fetchone()[0]
    want = hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()
    assert got == want


def test_pii_key_comes_from_the_session_setting(db):
    with connect(db) as conn:
        conn.execute("select set_config('umkm.pii_key', 's3cret', false)")
        ipad, opad = conn.execute("select ipad, opad from public.umkm_pii_pads()").fetchone()
        got = conn.execute("select public.umkm_hmac_padded('v', %s, %s)", (ipad, opad)).fetchone()[
            0
        ]
    assert got == hmac.new(b"s3cret", b"v", hashlib.sha256).hexdigest()


@pytest.mark.parametrize("value", ["phone:+6281211112222", "person:budi santoso", "nik:3201"])
def test_staged_key_is_the_first_eight_bytes_of_the_hmac(db, value):
    """Staging keeps a personal value as a signed 64-bit key (macro pii_hash): the first 8
    bytes of its HMAC-SHA256, big-endian; another value gets another key."""
    with connect(db) as conn:
        conn.execute("select set_config('umkm.pii_key', 's3cret', false)")
        got, other = conn.execute(
            "select public.umkm_hmac_key(%s, p.ipad, p.opad), "
            "public.umkm_hmac_key(%s || 'x', p.ipad, p.opad) from public.umkm_pii_pads() as p",
            (value, value),
        ).fetchone()
    digest = hmac.new(b"s3cret", value.encode(), hashlib.sha256).digest()
    assert got == int.from_bytes(digest[:8], "big", signed=True)
    assert other != got


def test_dbt_environment_passes_the_key_as_a_setting(monkeypatch):
    from umkm.transform.dbt import dbt_environment

    monkeypatch.setenv("UMKM_PII_KEY", "my key")
    monkeypatch.delenv("PGOPTIONS", raising=False)
    env = dbt_environment(url="postgresql://postgres@127.0.0.1:1/x")
    assert env["PGOPTIONS"] == "-c umkm.pii_key=my\\ key"


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("0812-3456-7890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("(021) 555-1234", "+62215551234"),
        ("+62 (0)812 3456789", "+628123456789"),
        ("0274 512345", "+62274512345"),
        ("0401-3383495", "+624013383495"),
        ("(0901) 321456", "+62901321456"),
        ("+62 401 7052570", "+624017052570"),
        ("12345", None),
        ("", None),
        (None, None),
    ],
)
def test_phone_e164(db, phone, e164):
    with connect(db) as conn:
        assert conn.execute("select public.umkm_phone_e164(%s)", (phone,)).fetchone()[0] == e164


@pytest.mark.parametrize(
    ("city", "province", "code"),
    [
        ("Kab. Bandung", None, "3204"),
        ("Kabupaten Bandung", "Jawa Barat", "3204"),
        ("Kota Bandung", None, "3273"),
        ("Bandung", None, "3273"),  # bare name of a kabupaten and a kota: the kota
        ("Bandung (Kab.)", None, "3204"),
        ("Jkt Selatan", None, "3171"),
        ("Jaksel", None, "3171"),
        ("Kota Adm. Jakarta Timur", "DKI Jakarta", "3172"),
        ("Kebayoran Baru", None, "3171"),  # a unique district name
        ("Banjar", "Kalimantan Selatan", "6303"),
        ("Banjar", None, "3279"),
        ("Batam", "Kepri", "2171"),  # BPS writes KOTA B A T A M
        ("Jogja", None, "3471"),
        ("Ujung Pandang", None, "7371"),  # old name of Makassar
        ("Surabya", None, "3578"),  # typo
        ("Bandnug", "Jawa Barat", "3273"),
        ("Atlantis", None, None),
        (None, None, None),
        # short forms, by rule (V056): abbreviated words, numbers, syllable acronyms
        ("Tj. Pinang", None, "2172"),
        ("P. Siantar", "Sumut", "1273"),
        ("Kab. Kep. Meranti", None, "1410"),
        ("4 Lawang", None, "1611"),
        ("Humbahas", None, "1215"),
        ("Kotabaru", None, "6302"),
        ("Tj", None, None),  # one abbreviated word: nothing written out in full
        ("Bandungan Barat", None, "3217"),  # a typo still goes to the typo search first
    ],
)
def test_regency_code(db, city, province, code):
    with connect(db) as conn:
        got = conn.execute("select public.umkm_regency_code(%s, %s)", (city, province))
        assert got.fetchone()[0] == code


@pytest.mark.parametrize(
    ("name", "norm", "form"),
    [
        ("Toko Berkah Jaya 🎉", "berkah jaya", "Toko"),
        ("CV. Maju Mundur", "maju mundur", "CV"),
        ("C.V. MAJU  MUNDUR", "maju mundur", "CV"),
        ("PT Sinar Abadi Tbk", "sinar abadi", "PT"),
        ("Sinar Abadi, PT.", "sinar abadi", "PT"),
        ("UD  Sumber Rejeki!!", "sumber rejeki", "UD"),
        ("Kopi Kenangan", "kopi kenangan", None),
        # two-word affixes at either end, several affixes, a name that is only an affix
        ("Sinar Abadi, Usaha Dagang", "sinar abadi", "UD"),
        ("Perseroan Terbatas Maju Jaya", "maju jaya", "PT"),
        ("Toko UD Sinar", "sinar", "Toko"),
        ("Sinar Tk. Wr.", "sinar", "Warung"),  # the last affix
        ("u.d. sinar c.v.", "sinar", "UD"),
        ("Toko", "toko", "Toko"),
        ("Tokopedia Jaya", "tokopedia jaya", None),
        ("", None, None),
    ],
)
def test_name_and_legal_form(db, name, norm, form):
    with connect(db) as conn:
        got = conn.execute(
            "select public.umkm_normalise_name(%s), public.umkm_legal_form(%s)", (name, name)
        ).fetchone()
    assert got == (norm, form)


def test_date_parsing_survives_a_parallel_plan(db):
    """The try-functions catch errors in a subtransaction, which parallel workers cannot open:
    under a forced parallel plan they must still parse every date (V021)."""
    with connect(db) as conn:
        conn.execute(
            "create table public.dates_parallel as "
            "select to_char(date '2017-01-01' + i % 900, 'DD/MM/YYYY') as dmy, "
            "to_char(date '2017-01-01' + i % 900, 'YYYY-MM-DD') || 'T10:00:00+07:00' as iso "
            "from generate_series(1, 20000) as i"
        )
        for setting in (
            "parallel_setup_cost = 0",
            "parallel_tuple_cost = 0",
            "min_parallel_table_scan_size = 0",
            "max_parallel_workers_per_gather = 2",
        ):
            conn.execute(f"set {setting}")
        # as dbt builds a table model: CREATE TABLE AS over a (parallel) scan
        conn.execute(
            "create table public.dates_parsed as select "
            "public.umkm_try_date(dmy, 'DD/MM/YYYY') as d, "
            "public.umkm_try_timestamptz(iso) as t from public.dates_parallel"
        )
        parsed = conn.execute(
            "select count(d), count(t), count(*) from public.dates_parsed"
        ).fetchone()
        conn.execute("drop table public.dates_parallel, public.dates_parsed")
    assert parsed == (20000, 20000, 20000)


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        ("06/05/2017", "DD/MM/YYYY", "2017-05-06"),
        (" 29/02/2016 ", "DD/MM/YYYY", "2016-02-29"),
        ("29/02/2017", "DD/MM/YYYY", None),  # not a leap year: null, not 1 March
        ("31/04/2018", "DD/MM/YYYY", None),
        ("00/01/2018", "DD/MM/YYYY", None),
        ("12/13/2018", "DD/MM/YYYY", None),
        ("2017-11-15", "DD/MM/YYYY", None),
        ("6/5/2017", "DD/MM/YYYY", None),
        ("", "DD/MM/YYYY", None),
        (None, "DD/MM/YYYY", None),
        ("2017-11-15", "YYYY-MM-DD", "2017-11-15"),
        ("2017-02-30", "YYYY-MM-DD", None),
        ("2017-1-15", "YYYY-MM-DD", None),
        ("15.11.2017", "DD.MM.YYYY", "2017-11-15"),
    ],
)
def test_try_date(db, value, fmt, expected):
    """Literal arguments too: the planner folds constants, and nothing may raise."""
    with connect(db) as conn:
        got = conn.execute("select public.umkm_try_date(%s, %s)::text", (value, fmt)).fetchone()[0]
        literal = conn.execute(
            "select public.umkm_try_date("
            + ("null" if value is None else "'" + value + "'")
            + f", '{fmt}')::text"
        ).fetchone()[0]
    assert got == literal == expected


def test_date_fast_paths_agree_with_the_old_parser(db):
    """V050 (PostgreSQL 16+): the exception-free parsers give what the old ones gave, on
    every day 00-32 of every month 00-13 of five years, both formats, with stray spaces,
    short fields and the other format's shape; and timestamps, valid or not."""
    with connect(db) as conn:
        if conn.execute("select current_setting('server_version_num')::int").fetchone()[0] < 160000:
            pytest.skip("PostgreSQL 15 keeps the parsers of V020")
        conn.execute(
            """
            create or replace function pg_temp.old_try_timestamptz(value text)
            returns timestamptz language plpgsql stable as $$
            begin
                if value is null or btrim(value) = '' then return null; end if;
                return value::timestamptz;
            exception when others then return null;
            end $$
            """
        )
        differing = conn.execute(
            """
            with parts as (
                select lpad(d::text, 2, '0') as dd, lpad(m::text, 2, '0') as mm, y
                from generate_series(0, 32) as d, generate_series(0, 13) as m,
                    unnest(array['0000', '1999', '2016', '2017', '2100']) as y
            ),
            strings as (
                select dd || '/' || mm || '/' || y as v from parts
                union all select y || '-' || mm || '-' || dd from parts
                union all select ' ' || dd || '/' || mm || '/' || y || ' ' from parts
                union all select ltrim(dd, '0') || '/' || mm || '/' || y from parts
                union all select y || '-' || ltrim(mm, '0') || '-' || dd from parts
                union all select unnest(array['', ' ', null, 'x', '2017-11-15T10:00:00+07:00',
                    '15.11.2017', '2017/11/15', '15/11/17', '2017-11-155'])
            ),
            checked as (
                select v, f from strings, unnest(array['DD/MM/YYYY', 'YYYY-MM-DD']) as f
            )
            select v, f from checked
            where public.umkm_try_date(v, f) is distinct from public.umkm_try_date_any(v, f)
            """
        ).fetchall()
        timestamps = [
            "2017-11-15T10:00:00+07:00",
            "2017-11-15 10:00:00",
            "2017-02-30T10:00:00Z",
            "2017-11-15T25:00:00Z",
            " 2017-11-15T10:00:00Z ",
            "2017-11-15",
            "15/11/2017",
            "yesterday",
            "",
            "not a date",
            None,
        ]
        for value in timestamps:
            new, old = conn.execute(
                "select public.umkm_try_timestamptz(%s), pg_temp.old_try_timestamptz(%s)",
                (value, value),
            ).fetchone()
            assert new == old, value
    assert differing == []


def test_remembering_spellings_waits_for_one_holder_and_cannot_deadlock(db):
    """Two transactions meeting new spellings in opposite orders (as two validations side by
    side do): the second to remember waits on the one advisory lock of V051 instead of on
    the other's rows, so the first goes on and both finish with every spelling remembered.
    Without the lock, each inserted one spelling and then waited on the other's: deadlock."""
    import threading

    import psycopg

    first, second = ("Kota Tegal", "Jawa Tengah"), ("Kabupaten Tegal", "Jawa Tengah")
    keys = [f"m:{c.lower()}|{p.lower()}" for c, p in (first, second)]
    with connect(db, autocommit=True) as conn:
        conn.execute("select public.umkm_refresh_region_lookup()")  # with the BPS rows
        conn.execute("delete from public.umkm_region_lookup where key = any(%s)", (keys,))
    holder = connect(db)
    waiter = connect(db)
    try:
        holder.execute("set statement_timeout = '20s'")
        waiter.execute("set statement_timeout = '20s'")
        waiter_pid = waiter.execute("select pg_backend_pid()").fetchone()[0]
        assert holder.execute("select public.umkm_regency_code(%s, %s)", first).fetchone()[0]
        answers: list = []

        def remember_the_other_first():
            try:
                answers.append(
                    waiter.execute("select public.umkm_regency_code(%s, %s)", second).fetchone()
                )
                answers.append(
                    waiter.execute("select public.umkm_regency_code(%s, %s)", first).fetchone()
                )
                waiter.commit()
            except psycopg.Error as exc:  # surfaced by the assertion below
                answers.append(exc)

        thread = threading.Thread(target=remember_the_other_first)
        thread.start()
        with connect(db, autocommit=True) as watch:
            for _ in range(200):
                waiting = watch.execute(
                    "select wait_event from pg_stat_activity where pid = %s", (waiter_pid,)
                ).fetchone()
                if waiting and waiting[0] == "advisory":
                    break
                thread.join(0.05)
            assert waiting and waiting[0] == "advisory", "second transaction did not wait"
        assert holder.execute("select public.umkm_regency_code(%s, %s)", second).fetchone()[0]
        holder.commit()
        thread.join(30)
        assert not thread.is_alive()
        assert [a for a in answers if isinstance(a, Exception)] == []
        assert [a[0] for a in answers] == ["3328", "3376"]
    finally:
        holder.close()
        waiter.close()
    with connect(db) as conn:
        remembered = conn.execute(
            "select key, regency_code from public.umkm_region_lookup where key = any(%s) "
            "order by key",
            (keys,),
        ).fetchall()
    assert remembered == [
        ("m:kabupaten tegal|jawa tengah", "3328"),
        ("m:kota tegal|jawa tengah", "3376"),
    ]
