"""The held-out noise profile: other vocabularies, every variation class at its configured
rate, the same business written differently from source to source, and the world, the
protocol and the invalid records exactly as in the default profile.

Records of every source are rendered directly (no HTTP: the conformance suite covers the
wire under both profiles) and read back as a consumer would: JSON parsed, file-drop CSV
parsed. Each variation is recognised in the text against the business's own facts
(`HeldoutRenderer.canon`), and its share must be the configured rate within a binomial
tolerance, in each source where it applies.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import defaultdict
from dataclasses import fields
from datetime import date

import numpy as np
import pytest

from umkm_sim import heldout as H
from umkm_sim import records
from umkm_sim import render as R
from umkm_sim.config import NoiseProfile, SimConfig
from umkm_sim.render import make_renderer
from umkm_sim.world import build_world, day

HEADLINE = date(2017, 11, 15)
SEED = 23
SCALE = 0.003  # about 27,000 records of nine sources: every rate measured in a few seconds
MARKETPLACES = ("tokopedia", "lazada", "shopee", "bukalapak", "blibli", "blanja", "mataharimall")
OPTIONAL_ADDRESS = {*MARKETPLACES, "kemenkopukm"}  # e-Smart's Alamat is required
TEXT = {"name", "owner", "phone", "email", "address", "city", "province", "nib", "category",
        "nik", "online", "sentra"}  # fmt: skip

#: every rate a second time, elsewhere: the measured shares must follow the knobs
OTHER = NoiseProfile(**{f.name: 0.4 for f in fields(NoiseProfile)}).with_(
    registry_upper_rate=0.2, no_contact_share=0.3
)
#: no variation at all: a business reads the same in every source
ZERO = NoiseProfile(**{f.name: 0.0 for f in fields(NoiseProfile)}).with_(
    legal_form_share=0.5, legal_form_shown_rate=1.0, house_letter_share=0.1, gang_share=0.1,
    komplek_share=0.1,
)  # fmt: skip


# --- rendering every source ----------------------------------------------------------------


def _merchant(source: str, rec: dict) -> dict:
    if source in ("tokopedia", "lazada"):
        keys = ("shop_id", "shop_name", "owner_name", "phone", "email", "address", "city",
                "province", "category", "nib")  # fmt: skip
    elif source == "shopee":
        keys = ("shopid", "shop_name", "owner_name", "phone", "email", "address", "city",
                "province", "category", "business_license")  # fmt: skip
    elif source in ("bukalapak", "blibli"):
        addr = rec.pop("address")
        rec.update(street=addr["street"], city=addr["city"], province=addr["province"])
        keys = ("store_id", "name", "owner", "phone", "email", "street", "city", "province",
                "category", "nib")  # fmt: skip
    else:
        keys = ("merchant_id", "nama_toko", "nama_pemilik", "telepon", "email", "alamat", "kota",
                "provinsi", "kategori", "nib")  # fmt: skip
    names = ("id", "name", "owner", "phone", "email", "address", "city", "province", "category",
             "nib")  # fmt: skip
    out = {n: rec.pop(k) for n, k in zip(names, keys, strict=True)}
    if source in ("blanja", "mataharimall"):  # empty optional cells are absent
        out = {k: (v if v != "" or k == "name" else None) for k, v in out.items()}
    out["protocol"] = rec
    return out


def render_all(world) -> dict[str, list[dict]]:
    """source -> records at the headline, each with its entity, invalid kind and canon."""
    r = make_renderer(world)
    d = day(HEADLINE)
    out: dict[str, list[dict]] = {}
    for p in world.platforms:
        rows = np.arange(p.n_rows(d))
        acc = p.acc_of_rows(rows)
        if p.name in ("blanja", "mataharimall"):
            buf = io.StringIO()
            records.merchants_csv(r, p, rows, d, buf)
            delim = ";" if p.name == "mataharimall" else ","
            reader = csv.reader(io.StringIO(buf.getvalue(), newline=""), delimiter=delim)
            recs = [dict(zip(records.FILEDROP_COLUMNS, row, strict=True)) for row in reader]
        else:
            recs = records.merchants(r, p, rows, d)
        out[p.name] = [
            {**_merchant(p.name, rec), "entity": int(e), "invalid": int(k)}
            for rec, e, k in zip(recs, p.entity[acc], p.invalid[acc], strict=True)
        ]
    reg = world.registry
    rows = np.arange(reg.n_rows(d))
    recs = reg.acc_of_rows(rows)
    out["kemenkopukm"] = [
        {
            "id": x.pop("id_umkm"), "name": x.pop("nama_usaha"), "owner": x.pop("nama_pemilik"),
            "phone": x.pop("no_hp"), "email": x.pop("email"), "address": x.pop("alamat"),
            "nib": x.pop("nib"), "nik": x.pop("nik_pemilik"), "online": x.pop("platform_online"),
            "protocol": x, "entity": int(e), "invalid": int(k),
        }
        for x, e, k in zip(
            records.registry_records(r, rows, d), reg.entity[recs], reg.invalid[recs], strict=True
        )
    ]  # fmt: skip
    es = world.esmart
    rows_out = []
    for year in (2017, 2018, 2019):
        idx = es.rows_of(year)
        for row, e, k in zip(
            records.esmart_rows(r, year), es.entity[idx], es.invalid[idx], strict=True
        ):
            rec = dict(zip(records.ESMART_HEADER, row, strict=True))
            rows_out.append(
                {
                    "id": rec.pop("No"), "name": rec.pop("Nama IKM"),
                    "owner": rec.pop("Nama Pemilik"), "phone": rec.pop("No. Telp"),
                    "address": rec.pop("Alamat"), "city": rec.pop("Kabupaten/Kota"),
                    "province": rec.pop("Provinsi"), "sentra": rec.pop("Sentra IKM"),
                    "protocol": rec, "entity": int(e), "invalid": int(k),
                }
            )  # fmt: skip
    out["kemenperin"] = rows_out
    if isinstance(r, H.HeldoutRenderer):
        for recs_ in out.values():
            canon = r.canon(np.array([x["entity"] for x in recs_], dtype=np.int64))
            for x, c in zip(recs_, canon, strict=True):
                x["canon"] = c
    return out


@pytest.fixture(scope="module")
def default_world():
    return build_world(SimConfig(seed=SEED, scale=SCALE))


@pytest.fixture(scope="module")
def heldout_world():
    return build_world(SimConfig(seed=SEED, scale=SCALE, profile="heldout"))


@pytest.fixture(scope="module")
def heldout(heldout_world):
    return render_all(heldout_world)


# --- measuring ---------------------------------------------------------------------------


class Rates:
    """Counts of (hits, trials) per (class, source), checked against the configured rate.
    A class is a field of NoiseProfile, or `field:detail` for one of its uses."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])

    def add(self, label: str, source: str, hit: bool) -> None:
        c = self.counts[(label, source)]
        c[0] += bool(hit)
        c[1] += 1

    def check(self, expect, min_n: int = 40) -> list[str]:
        """Every (class, source) with enough trials within 4.5 sigma + 0.01 of its rate
        `expect(label, source)` (a class at rate 0 must be absent); the failures."""
        bad = []
        for (label, source), (k, n) in sorted(self.counts.items()):
            p = expect(label, source)
            if n < min_n:
                continue
            got = k / n
            tol = 4.5 * math.sqrt(max(p * (1 - p), 1e-9) / n) + 0.01
            if (p == 0 and k) or abs(got - p) > tol:
                bad.append(f"{label} in {source}: {got:.3f} of {n}, configured {p:.3f}")
        return bad

    def measured(self, min_n: int = 40) -> set[str]:
        return {label.split(":")[0] for (label, _s), (_k, n) in self.counts.items() if n >= min_n}


def _strip_emoji(text: str) -> tuple[str, bool]:
    for e in sorted(H.EMOJI, key=len, reverse=True):
        if text.endswith(" " + e):
            return text[: -len(e) - 1], True
    return text, False


def _osa(a: str, b: str) -> int:
    """Optimal string alignment distance (a transposition costs one)."""
    d = [[max(i, j) if not i or not j else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def _swap_typo(tokens: list[str], canon: list[str]) -> tuple[bool, bool] | None:
    """(two adjacent words swapped, one word with a typo), or None if neither explains
    the difference."""

    def typo_only(t: list[str]) -> bool | None:
        diffs = [i for i in range(len(t)) if t[i] != canon[i]]
        if not diffs:
            return False
        if len(diffs) == 1 and _osa(t[diffs[0]], canon[diffs[0]]) <= 1:
            return True
        return None

    if len(tokens) != len(canon):
        return None
    found = typo_only(tokens)
    if found is not None:
        return False, found
    for i in range(len(tokens) - 1):
        t = [*tokens[:i], tokens[i + 1], tokens[i], *tokens[i + 2 :]]
        found = typo_only(t)
        if found is not None:
            return True, found
    return None


def _form_spellings(kind: int) -> list[tuple[str, str]]:
    """(spelling, style) of a legal form, longest first; style usual/variant/dotted."""
    usual_abbrev, abbrev, dots, long = H.LEGAL_FORMS[kind]
    out = [(long, "usual" if not usual_abbrev else "variant")]
    out += [(d, "dotted") for d in dots]
    out.append((abbrev, "usual" if usual_abbrev else "variant"))
    return sorted(out, key=lambda x: len(x[0]), reverse=True)


def measure_names(rates: Rates, source: str, x: dict, nz: NoiseProfile) -> None:
    c, text = x["canon"], x["name"]
    text, has_emoji = _strip_emoji(text)
    if source in MARKETPLACES:
        rates.add("name_emoji_rate", source, has_emoji)
    else:
        assert not has_emoji, text
    rates.add("name_space_rate", source, "  " in text or text != text.strip())
    text = " ".join(text.split())
    if source == "kemenkopukm":
        rates.add("registry_upper_rate:name", source, text.isupper())
    else:
        rates.add("name_upper_rate", source, text.isupper())
        rates.add("name_lower_rate", source, text.islower())
    low = text.lower()
    if c.form:
        found = None
        for spelling, style in _form_spellings(c.form):
            s = spelling.lower()
            if low.startswith(s + " "):
                found, low = (style, False), low[len(s) + 1 :]
                break
            for sep in (", ", " "):
                if low.endswith(sep + s):
                    found, low = (style, True), low[: -len(s) - len(sep)]
                    break
            if found:
                break
        rates.add("legal_form_shown_rate", source, found is not None)
        if found:
            rates.add("legal_form_end_rate", source, found[1])
            usual_abbrev = H.LEGAL_FORMS[c.form][0]
            dotted = found[0] == "dotted"  # an abbreviation: usual for UD, a variant for Toko
            variant = found[0] == "variant" or (dotted and not usual_abbrev)
            rates.add("legal_form_variant_rate", source, variant)
            abbreviated = dotted or (variant != usual_abbrev)
            if abbreviated:
                rates.add("legal_form_dotted_rate", source, found[0] == "dotted")
    rates.add("name_punctuation_rate", source, low.endswith(".") or "-" in low)
    tokens = low.replace("-", " ").rstrip(".").split()
    canon = [t.lower() for t in c.words]
    found = _swap_typo(tokens, canon)
    assert found is not None, (source, x["name"], c.words)
    swapped, typo = found
    rates.add("name_swap_rate", source, swapped)
    rates.add("name_typo_rate", source, typo)


def measure_owner(rates: Rates, source: str, x: dict) -> None:
    c, text = x["canon"], x["owner"]
    if source == "kemenkopukm":
        rates.add("registry_upper_rate:owner", source, text.isupper())
    else:
        rates.add("owner_upper_rate", source, text.isupper())
        rates.add("owner_lower_rate", source, text.islower())
    male, female, after = H.TITLES[c.title]
    low = text.lower()
    honour = False
    for t in sorted(female if c.female else male, key=len, reverse=True):
        t = t.lower()
        if after:  # degrees follow the name
            for sep in (", ", " "):
                if low.endswith(sep + t):
                    low, honour = low[: -len(t) - len(sep)], True
                    break
        elif low.startswith(t + " ") and not re.fullmatch(r"[a-z]\.", t):
            low, honour = low[len(t) + 1 :], True
        if honour:
            break
    lead = re.match(r"([a-z])\. ", low)
    titles = {t.lower() for t in (female if c.female else male)}
    if not honour and lead and lead.group(0).strip() in titles:
        # "H. Sutarno": the haji's H. unless it can be the initial of a name not written
        rest = low.split()[1:]
        unwritten = [w.lower() for w in c.owner if not any(_osa(w.lower(), t) <= 1 for t in rest)]
        initials = rest.count(lead.group(0).strip())  # the same initial further on
        could_be = sum(w[0] == lead.group(1) for w in unwritten)
        if len(rest) >= len(c.owner) or initials >= could_be:
            low, honour = low[3:], True
    rates.add("honorific_rate", source, honour)
    tokens = low.split()
    canon = [t.lower() for t in c.owner]
    if 2 <= len(canon) <= 3:
        rates.add("owner_drop_rate", source, len(tokens) < len(canon))
    if len(tokens) >= 2:
        initials = [t for t in tokens if re.fullmatch(r"[a-z]\.", t)]
        rates.add("owner_initial_rate", source, bool(initials))
        idx: list[int | None] = [None] * len(tokens)
        typo = False
        for step in ("exact", "typo", "initial"):  # which of the names each word is
            for k, t in enumerate(tokens):
                if idx[k] is not None or (step == "initial") != bool(re.fullmatch(r"[a-z]\.", t)):
                    continue
                for j, w in enumerate(canon):
                    if j in idx:
                        continue
                    if (
                        (step == "exact" and w == t)
                        or (step == "initial" and w[0] == t[0])
                        or (step == "typo" and _osa(w, t) <= 1)
                    ):
                        idx[k] = j
                        typo = typo or step == "typo"
                        break
        assert None not in idx, (source, x["owner"], c.owner)
        rates.add("owner_swap_rate", source, idx != sorted(idx))
    else:
        typo = tokens[0] not in canon
    if any(sum(ch.isalpha() for ch in w) >= 4 for w in tokens if not w.endswith(".")):
        rates.add("owner_typo_rate", source, typo)


def _after(text: str, part: str) -> str:
    i = text.lower().index(part.lower()) + len(part)
    return text[i:]


def measure_address(rates: Rates, source: str, x: dict) -> None:
    c, text = x["canon"], x["address"]
    if source in OPTIONAL_ADDRESS:
        rates.add("address_missing_rate", source, text is None)
    if text is None:
        return
    upper = text.isupper()
    label = "registry_upper_rate:address" if source == "kemenkopukm" else "address_upper_rate"
    rates.add(label, source, upper)
    low = text.lower()
    if c.kind == 2:
        est, name, blk = c.komplek
        variants = H.KOMPLEK[est]
        first = text.split()[0].lower()
        assert first in {est.lower(), *(v.lower() for v in variants)}, text
        rates.add("komplek_variant_rate", source, first != est.lower())
        rest = _after(text, f"{name} Blok {blk} ")
    else:
        if not upper:  # Jl. and JL. differ only in case
            rates.add("street_prefix_variant_rate", source, not text.startswith("Jl. "))
        if c.kind == 1:
            rates.add("gang_variant_rate", source, f" gang {c.gang.lower()} " in low)
            rest = _after(text, f"{c.gang} ")
        else:
            rest = _after(text, f"{c.street} ")
    number = re.match(r"(no\. |nomor |no |no\.|)" + re.escape(c.number.lower()) + r"(\W|$)",
                      rest.lower())  # fmt: skip
    assert number, (text, c.number)
    rates.add("house_number_variant_rate", source, number.group(1) != "no. ")
    rates.add("rt_rw_rate", source, re.search(r"\brt\b|\brt[.\d]", low) is not None)
    if c.village:
        kel = re.search(r", (kel\.|kelurahan|desa|ds\.) ", low) is not None
        rates.add("kelurahan_rate", source, kel)
    if c.district:
        rates.add("kecamatan_rate", source, re.search(r", (kec\.|kecamatan) ", low) is not None)


def measure_region(rates: Rates, source: str, x: dict, r: H.HeldoutRenderer) -> None:
    c, city, province = x["canon"], x["city"], x["province"]
    rates.add("region_upper_rate:regency", source, city.isupper())
    aliases = [a.lower() for a in r.regency_alias[c.regency]]
    low = city.lower()
    if aliases:
        rates.add("regency_alias_rate", source, low in aliases)
    if low not in aliases:
        core = r.regency_core[c.regency].lower()
        assert low.endswith(core), (city, core)
        prefix = low[: -len(core)].strip()
        usual, variants = H.REGENCY_PREFIX[r.regency_kind[c.regency]]
        assert prefix in {"", usual.lower(), *(v.lower() for v in variants)}, city
        rates.add("regency_prefix_drop_rate", source, prefix == "")
        if prefix:
            rates.add("regency_prefix_variant_rate", source, prefix != usual.lower())
    if source != "kemenperin":
        rates.add("province_missing_rate", source, province is None)
    if province is None:
        return
    shorts = [s.lower() for s in r.province_short[c.regency]]
    if shorts:
        rates.add("province_short_rate", source, province.lower() in shorts)
    if not any(s.isupper() for s in r.province_short[c.regency]):
        rates.add("region_upper_rate:province", source, province.isupper())


def _digits(phone: str) -> str:
    d = re.sub(r"\D", "", phone)
    return "0" + d[2:] if d.startswith("62") else d


CONTRACT_PHONE = re.compile(r"^(\+62|62|0|\(0)[ .-]?[0-9][0-9 .()-]*[0-9]$")


def measure_contact(rates: Rates, source: str, x: dict, nz: NoiseProfile) -> None:
    c = x["canon"]
    phone, email = x["phone"], x.get("email")
    own = "0" + c.phone[1] + c.phone[2]
    optional = source in H.OPTIONAL_PHONE
    if phone is not None:
        assert CONTRACT_PHONE.match(phone), phone
        rates.add("phone_intl_rate", source, phone.startswith(("+62", "62")))
        rates.add("phone_grouped_rate", source, any(ch in phone for ch in " -.()"))
    no_email = email is None if source != "kemenperin" else True
    if not c.no_contact:
        if optional:
            rates.add("phone_missing_rate", source, phone is None)
        if source != "kemenperin":
            rates.add("email_missing_rate", source, email is None)
    else:
        unreachable = phone is None or _digits(phone) != own
        rates.add("no_contact_rate:joint", source, unreachable and no_email)
    if email is not None:
        rates.add("email_upper_rate", source, email != email.lower())
        assert email.lower() == c.email, (email, c.email)
    if c.nib and source != "kemenperin":
        rates.add("nib_shown_rate", source, x["nib"] == c.nib)


def measure_registry(rates: Rates, x: dict, world) -> None:
    c = x["canon"]
    rates.add("nik_missing_rate", "kemenkopukm", x["nik"] is None)
    if x["nik"] is not None:
        assert re.fullmatch(r"\d{16}", x["nik"]) and x["nik"][:4] == c.district_code[:4]
    parts = re.split(r", |; | / | & | dan |,", x["online"])
    plat = int(world.ent_platform[x["entity"]])
    social = [p for p in parts if p in H.SOCIAL_MEDIA]
    assert social or plat >= 0, x["online"]
    if plat >= 0:
        spellings = H.PLATFORM_SPELLINGS[H.C.MARKETPLACES[plat]]
        market = [p for p in parts if p in spellings]
        assert len(market) == 1, (x["online"], spellings)
        rates.add("platform_variant_rate", "kemenkopukm", market[0] != spellings[0])
        rates.add("social_mix_rate", "kemenkopukm", bool(social))


def measure(recs: dict[str, list[dict]], world, nz: NoiseProfile) -> Rates:
    r = make_renderer(world)
    rates = Rates()
    entities = {}
    for source, rows in recs.items():
        for x in rows:
            if x["invalid"]:
                continue
            entities[x["entity"]] = x["canon"]
            measure_names(rates, source, x, nz)
            measure_owner(rates, source, x)
            measure_address(rates, source, x)
            measure_contact(rates, source, x, nz)
            if source == "kemenkopukm":
                measure_registry(rates, x, world)
            else:
                measure_region(rates, source, x, r)
    for c in entities.values():  # per business
        rates.add("legal_form_share", "businesses", c.form > 0)
        rates.add("house_letter_share", "businesses", c.number[-1].isalpha())
        rates.add("house_range_share", "businesses", "-" in c.number)
        rates.add("gang_share", "businesses", c.kind == 1)
        rates.add("komplek_share", "businesses", c.kind == 2)
        rates.add("no_contact_share", "businesses", c.no_contact)
    return rates


# --- tests ---------------------------------------------------------------------------------


def test_vocabularies_differ_from_the_default_profile():
    default_shop = {w for text in R.WORDS1 + R.WORDS2 + R.WORDS3 + R.ALL_NOUNS
                    for w in text.split()} | {x.strip() for x in R.LEGAL}  # fmt: skip
    heldout_shop = {w for text in H.SHOP_W1 + H.SHOP_W2 + H.SHOP_W3 for w in text.split()}
    heldout_shop |= {w for nouns in H.SHOP_NOUNS for n in nouns for w in n.split()}
    assert not default_shop & heldout_shop
    owners = {w for g in H.OWNER_GROUPS for names in g[1:4] for w in names}
    assert not owners & set(R.FIRST + R.LAST)
    assert len(H.OWNER_GROUPS) >= 7 and len(owners) > 300
    default_cats = {w for words in R.CATEGORY_WORDS.values() for w in words}
    for platform, words in H.CATEGORY_WORDS.items():
        assert len(words) == 15, platform
        mine = {w for group in words for w in group}
        assert not mine & default_cats, platform
    others = {p: {w for g in ws for w in g} for p, ws in H.CATEGORY_WORDS.items()}
    for p in others:  # each platform its own words
        assert others[p] - set().union(*(others[q] for q in others if q != p)), p
    streets = {w for s in H.STREETS + H.GANGS + H.KOMPLEKS for w in s.split()}
    assert not streets & set(R.STREETS)
    assert not set(H.EMOJI) & set(R.EMOJI)
    for text in H.vocabulary():  # JSON is formatted directly: nothing to escape
        assert not set(text) & {'"', "\\"} and all(ord(ch) >= 32 for ch in text), text


def test_heldout_is_deterministic_for_a_seed(heldout, heldout_world):
    again = render_all(build_world(SimConfig(seed=SEED, scale=SCALE, profile="heldout")))
    strip = lambda recs: {s: [{k: v for k, v in x.items() if k != "canon"} for x in rows]  # noqa: E731
                          for s, rows in recs.items()}  # fmt: skip
    assert strip(again) == strip(heldout)
    world = build_world(SimConfig(seed=SEED + 1, scale=SCALE, profile="heldout"))
    p = world.platform("tokopedia")
    other = records.merchants(make_renderer(world), p, np.arange(50), day(HEADLINE))
    assert [x["shop_name"] for x in other] != [x["name"] for x in heldout["tokopedia"][:50]]


def test_same_world_protocol_and_invalid_records_as_the_default(default_world, heldout):
    default = render_all(default_world)
    assert default.keys() == heldout.keys()
    kinds = defaultdict(int)
    for source, rows in default.items():
        assert len(rows) == len(heldout[source]), source
        for a, b in zip(rows, heldout[source], strict=True):
            assert a["id"] == b["id"] and a["entity"] == b["entity"], source
            assert a["protocol"] == b["protocol"], (source, a["id"])  # dates, tiers, codes...
            if a["invalid"] == 1:  # an empty name stays empty
                assert a["name"] == b["name"] and not b["name"].strip()
            if a["invalid"] == 2:  # an unknown region stays unknown
                assert a["city"] == b["city"] and b.get("province") is None
            kinds[a["invalid"]] += 1
            if not b["invalid"]:
                assert b["name"].strip() and b["city" if "city" in b else "name"]
    assert all(kinds[k] for k in (0, 1, 2, 3, 4)), kinds
    for source in MARKETPLACES:  # the text is the held-out profile's
        pairs = zip(default[source], heldout[source], strict=True)
        same = sum(a["name"] == b["name"] and a["owner"] == b["owner"] for a, b in pairs
                   if not a["invalid"])  # fmt: skip
        assert same == 0, source


def test_truth_is_the_same_for_both_profiles(tmp_path):
    from umkm_sim import write_truth

    a = write_truth(tmp_path / "a", SEED, 0.001, "2017-11-15")
    b = write_truth(tmp_path / "b", SEED, 0.001, "2017-11-15", profile="heldout")
    assert (a / "records.csv").read_bytes() == (b / "records.csv").read_bytes()
    wa, wb = (json.loads((x / "world.json").read_text()) for x in (a, b))
    assert wa["config"].pop("profile") == "default"
    assert wb["config"].pop("profile") == "heldout"
    assert wb["config"].pop("noise") == {f.name: getattr(NoiseProfile(), f.name)
                                          for f in fields(NoiseProfile)}  # fmt: skip
    assert wa == wb


def _check_rates(recs, world, nz: NoiseProfile) -> None:
    rates = measure(recs, world, nz)

    def expect(label: str, source: str) -> float:
        if label == "no_contact_rate:joint":
            # a no-contact business's record: without its phone and e-mail together at
            # no_contact_rate, otherwise each absent (or the phone not the business's) by
            # its own rate; where the contract requires a phone, a silent record carries a
            # number that is not the business's
            phone = nz.phone_missing_rate if source in H.OPTIONAL_PHONE else 0.0
            if source in MARKETPLACES and source not in H.OPTIONAL_PHONE:
                phone = SimConfig().other_phone_rate
            mail = 1.0 if source == "kemenperin" else nz.email_missing_rate
            return nz.no_contact_rate + (1 - nz.no_contact_rate) * phone * mail
        return getattr(nz, label.split(":")[0])

    missing = {f.name for f in fields(NoiseProfile)} - rates.measured()
    assert not missing, f"classes never measured: {sorted(missing)}"
    bad = rates.check(expect)
    assert not bad, "\n".join(bad)


def test_every_variation_class_at_its_configured_rate(heldout, heldout_world):
    _check_rates(heldout, heldout_world, NoiseProfile())


def test_the_rates_follow_the_knobs():
    world = build_world(SimConfig(seed=SEED, scale=SCALE, profile="heldout", noise=OTHER))
    _check_rates(render_all(world), world, OTHER)


def _by_business(recs) -> dict[int, list[tuple[str, dict]]]:
    out = defaultdict(list)
    for source, rows in recs.items():
        for x in rows:
            if not x["invalid"]:
                out[x["entity"]].append((source, x))
    return {e: xs for e, xs in out.items() if len({s for s, _ in xs}) >= 2}


def test_a_business_reads_the_same_everywhere_without_noise():
    world = build_world(
        SimConfig(seed=SEED, scale=SCALE, profile="heldout", noise=ZERO, other_phone_rate=0.0)
    )
    many = _by_business(render_all(world))
    assert len(many) > 1000
    for xs in many.values():
        for field in ("name", "owner", "phone", "email", "address", "city", "province"):
            values = {x[field] for _s, x in xs if field in x}
            assert len(values) == 1, (field, values)


def _p_same_address(nz: NoiseProfile, c) -> float:
    """Chance that two records of a business, neither in upper case, write its address the
    same way (each class drawn independently per record)."""

    def same(rate: float, k: int) -> float:  # usual, or one of k variants alike
        return (1 - rate) ** 2 + rate**2 / k

    p = same(nz.house_number_variant_rate, 4) * same(nz.rt_rw_rate, len(H.RT_RW))
    if c.kind == 2:
        p *= same(nz.komplek_variant_rate, len(H.KOMPLEK[c.komplek[0]]))
    else:
        p *= same(nz.street_prefix_variant_rate, 5)
        if c.kind == 1:
            p *= same(nz.gang_variant_rate, 1)
    if c.village:
        p *= same(nz.kelurahan_rate, len(H.KEL_CITY if c.city else H.KEL_REGENCY))
    if c.district:
        p *= same(nz.kecamatan_rate, len(H.KEC))
    return p


def test_a_business_is_written_differently_across_sources(heldout):
    nz = NoiseProfile()
    pairs, same, expected = 0, 0, 0.0
    names_differ = owners_differ = 0
    many = _by_business(heldout)
    for xs in many.values():
        (_s1, a), (_s2, b) = xs[0], next((s, x) for s, x in xs if s != xs[0][0])
        names_differ += a["name"] != b["name"]
        owners_differ += a["owner"] != b["owner"]
        both = [x["address"] for x in (a, b) if x["address"] and not x["address"].isupper()]
        if len(both) == 2:
            pairs += 1
            same += both[0] == both[1]
            expected += _p_same_address(nz, a["canon"])
    assert pairs > 1000
    tol = 4.5 * math.sqrt(expected * (1 - expected / pairs)) / pairs + 0.01
    assert abs(same / pairs - expected / pairs) < tol, (same / pairs, expected / pairs)
    assert same / pairs < 0.25  # mostly written differently
    assert names_differ / len(many) > 0.3 and owners_differ / len(many) > 0.3


def test_phones_keep_to_the_contract_and_to_the_business(heldout):
    matched = total = 0
    for source, rows in heldout.items():
        for x in rows:
            if x["phone"] is None:
                assert source in H.OPTIONAL_PHONE
                continue
            assert CONTRACT_PHONE.match(x["phone"]), x["phone"]
            assert 9 <= len(_digits(x["phone"])) <= 13, x["phone"]
            c = x["canon"]
            if not x["invalid"] and not c.no_contact:
                total += 1
                matched += _digits(x["phone"]) == "0" + c.phone[1] + c.phone[2]
    assert matched / total > 1 - SimConfig().other_phone_rate - 0.02
