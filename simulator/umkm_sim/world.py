"""Deterministic world generation: compact numpy arrays, nothing per record in Python.

The world is built once per (seed, scale) from one seeded generator, in a fixed order, so
the same seed and scale always give the same arrays (and so the same bytes served). What is
kept per record is small (entity, days, tier, products, flags); every text field (names,
phones, cities, e-mails) is derived when a page is rendered, from a hash of the record's
index (`umkm_sim.render`), so any page can be rendered without the rest of the world.

Days are counted from 2000-01-01 (`day()`), and fit in int16.

How the calibration is exact (docs/SIMULATOR.md): structured businesses (several shops,
several platforms, large enterprises) are drawn first; then each platform is filled with
single-shop businesses until its count of open, non-brand accounts at 2017-11-15 equals its
share of Kominfo's total; the registry is filled with registry-only businesses the same way.
"""

from __future__ import annotations

import contextlib
import csv
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from umkm_sim import config as C
from umkm_sim.config import SimConfig

EPOCH = date(2000, 1, 1)
NEVER = 32_000  # a day index after every snapshot (int16)

# tiers (per platform words in render): regular, power, brand-owner
REGULAR, POWER, BRAND = 0, 1, 2
# invalid kinds (0 = valid); duplicates are a separate flag (`dup`)
INVALID_KINDS = {
    1: "empty_name",
    2: "unknown_region",
    3: "future_date",
    4: "bad_registry_code",
}
DUPLICATE_KIND = "duplicate_id"
# large-enterprise kinds of an entity
LARGE_NONE, LARGE_BRAND, LARGE_PRODUCTS, LARGE_BRAND_ONLY = 0, 1, 2, 3
#: number of product categories (the nine e-Smart commodities first, then six others)
N_CATEGORIES = 15
BIG_CITIES = {
    "3171", "3172", "3173", "3174", "3175", "3578", "3273", "1275", "3374", "7371",
    "3671", "3275", "3276", "3471", "5171", "1671",
}  # fmt: skip


def _copy_rows(dup: np.ndarray) -> np.ndarray:
    """Row index of the second copy of every duplicated record: record a with k duplicated
    records before it fills rows a+k and (if duplicated) a+k+1."""
    dup_idx = np.flatnonzero(dup).astype(np.int64)
    return dup_idx + np.arange(len(dup_idx), dtype=np.int64) + 1


def day(d: date) -> int:
    """Day index of a date (days since 2000-01-01)."""
    return (d - EPOCH).days


def from_day(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


@dataclass
class Platform:
    """The accounts of one marketplace, in id order (= the order they opened)."""

    name: str
    index: int
    entity: np.ndarray  # int32
    open: np.ndarray  # int16 day
    close: np.ndarray  # int16 day (NEVER: still open)
    dormant: np.ndarray  # int16 day from which the seller stopped (NEVER: never)
    tier: np.ndarray  # int8 REGULAR / POWER / BRAND
    products: np.ndarray  # int32
    invalid: np.ndarray  # int8 kind (0 valid)
    dup: np.ndarray  # bool: delivered twice in every snapshot that serves it
    copies: np.ndarray = field(init=False)  # row index of each second copy (sorted)
    until: int = NEVER  # last day with data

    def __post_init__(self) -> None:
        self.copies = _copy_rows(self.dup)

    def acc_of_rows(self, rows: np.ndarray) -> np.ndarray:
        """Account index of served rows (a duplicated account fills two rows)."""
        return rows - np.searchsorted(self.copies, rows, side="right")

    def n_rows(self, d: int) -> int:
        """Rows served for day `d` (accounts opened by then, duplicates included)."""
        n = self.n_accounts(d)
        return n + int(np.searchsorted(self.copies - np.arange(len(self.copies)) - 1, n))

    def n_accounts(self, d: int) -> int:
        return int(np.searchsorted(self.open, d, side="right"))

    def has_data(self, d: int) -> bool:
        return d <= self.until


@dataclass
class Registry:
    """Kemenkop UKM registry records in id order (= registration order)."""

    entity: np.ndarray  # int32
    reg: np.ndarray  # int16 registration day
    inactive: np.ndarray  # int16 day from which `nonaktif` (NEVER: stays aktif)
    invalid: np.ndarray  # int8
    dup: np.ndarray  # bool
    copies: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.copies = _copy_rows(self.dup)

    def acc_of_rows(self, rows: np.ndarray) -> np.ndarray:
        """Record index of served rows (a duplicated record fills two rows)."""
        return rows - np.searchsorted(self.copies, rows, side="right")

    def n_rows(self, d: int) -> int:
        n = self.n_records(d)
        return n + int(np.searchsorted(self.copies - np.arange(len(self.copies)) - 1, n))

    def n_records(self, d: int) -> int:
        return int(np.searchsorted(self.reg, d, side="right"))


@dataclass
class Esmart:
    """e-Smart IKM participants: one row per participant, `number` is the sheet's `No`."""

    entity: np.ndarray  # int32
    year: np.ndarray  # int16
    number: np.ndarray  # int32, unique across years
    invalid: np.ndarray  # int8
    marketplace: np.ndarray  # int8 platform index where onboarded

    def rows_of(self, year: int) -> np.ndarray:
        return np.flatnonzero(self.year == year)

    def n_valid_through(self, year: int) -> int:
        return int(((self.year <= year) & (self.invalid == 0)).sum())

    def n_through(self, year: int) -> int:
        return int((self.year <= year).sum())


@dataclass
class Regions:
    """BPS regencies and provinces, read at run time from the shared reference folder."""

    codes: list[str]
    province_codes: list[str]
    names: list[str]  # e.g. KABUPATEN BANDUNG
    provinces: dict[str, str]  # code -> name
    weights: np.ndarray


@dataclass
class World:
    cfg: SimConfig
    regions: Regions
    platforms: list[Platform]
    registry: Registry
    esmart: Esmart
    ent_regency: np.ndarray  # int16
    ent_cat: np.ndarray  # int8
    ent_scale: np.ndarray  # int8 0 mikro, 1 kecil, 2 menengah
    ent_name: np.ndarray  # int32 name key (twins share a key)
    ent_large: np.ndarray  # int8 LARGE_*
    ent_platform: np.ndarray  # int8 platform of the first shop (-1: none)
    calibration: dict = field(default_factory=dict)
    places: object = None  # kecamatan and kelurahan names (held-out profile only)

    @property
    def n_entities(self) -> int:
        return len(self.ent_regency)

    def platform(self, name: str) -> Platform:
        return self.platforms[C.MARKETPLACES.index(name)]


def load_regions(wilayah: Path | None = None) -> Regions:
    """Regencies and provinces from `umkm.paths.wilayah_dir()`, with a Java-heavy,
    big-city weighting (ASSUMPTION: Java x3, a city (Kota) x2, the 16 largest cities x4)."""
    if wilayah is None:
        from umkm_sim import paths

        wilayah = paths.wilayah_dir()
    with open(wilayah / "provinces.csv", newline="", encoding="utf-8") as handle:
        provinces = {row[0]: row[1] for row in csv.reader(handle) if row}
    codes, provs, names, weights = [], [], [], []
    with open(wilayah / "regencies.csv", newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if not row:
                continue
            code, prov, name = row[0].strip(), row[1].strip(), row[2].strip()
            weight = 1.0
            if prov in ("31", "32", "33", "34", "35", "36"):
                weight *= 3.0
            if name.startswith("KOTA"):
                weight *= 2.0
            if code in BIG_CITIES:
                weight *= 4.0
            if code == "3101":  # Kepulauan Seribu: a few islands
                weight = 0.2
            codes.append(code)
            provs.append(prov)
            names.append(name)
            weights.append(weight)
    w = np.asarray(weights)
    return Regions(codes, provs, names, provinces, w / w.sum())


def largest_remainder(total: int, shares: np.ndarray) -> np.ndarray:
    """Split `total` into integers proportional to `shares` that add up exactly."""
    if total <= 0:
        return np.zeros(len(shares), dtype=np.int64)
    raw = total * shares / shares.sum()
    base = np.floor(raw).astype(np.int64)
    left = total - int(base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:left]] += 1
    return base


class _Builder:
    """Collects account specs and entity ids while the world is drawn."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng([cfg.seed, round(cfg.scale * 1_000_000), 7])
        self.n_entities = 0
        self.parts: list[tuple[np.ndarray, ...]] = []  # (entity, plat, open, close, tier, prod)
        self.ent_large: list[tuple[np.ndarray, int]] = []
        self.H = day(C.HEADLINE)
        self.END = day(C.LAST_SNAPSHOT)
        self.founded = np.array([day(C.FOUNDED[p]) for p in C.MARKETPLACES], dtype=np.int32)
        self.until = np.array(
            [day(C.UNTIL.get(p, date(2030, 1, 1))) for p in C.MARKETPLACES], dtype=np.int32
        )
        shares = np.array([cfg.platform_shares[p] for p in C.MARKETPLACES], dtype=float)
        self.shares = shares / shares.sum()

    def new_entities(self, n: int) -> np.ndarray:
        ids = np.arange(self.n_entities, self.n_entities + n, dtype=np.int32)
        self.n_entities += n
        return ids

    def draw_platforms(self, n: int, k: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """k distinct platforms per row (weighted, without replacement): (n, 7) order matrix
        whose first k[i] columns are row i's platforms."""
        keys = self.rng.random((n, len(weights))) ** (1.0 / np.maximum(weights, 1e-9))
        return np.argsort(-keys, axis=1, kind="stable")

    def open_days(self, plat: np.ndarray, pre_share: float) -> np.ndarray:
        """Opening days: before the headline (recent years weighted) or after it (uniform)."""
        rng, n = self.rng, len(plat)
        founded = self.founded[plat]
        pre = self.H - rng.exponential(700.0, n).astype(np.int32)
        low = pre < founded
        span = np.maximum(1, self.H - founded)
        pre[low] = founded[low] + (rng.random(int(low.sum())) * span[low]).astype(np.int32)
        last = np.minimum(self.until[plat], self.END)
        post = self.H + 1 + (rng.random(n) * np.maximum(1, last - self.H)).astype(np.int32)
        return np.where(rng.random(n, dtype=np.float32) < pre_share, pre, post).astype(np.int32)

    def close_days(self, opened: np.ndarray, before_ok: bool = True) -> np.ndarray:
        rng, n, cfg = self.rng, len(opened), self.cfg
        close = np.full(n, NEVER, dtype=np.int64)
        r = rng.random(n)
        if before_ok:
            before = (opened < self.H - 30) & (r < cfg.closed_before_share)
            gap = (rng.random(n) * (self.H - opened)).astype(np.int64) + 1
            close[before] = (opened + gap)[before]
        else:
            before = np.zeros(n, dtype=bool)
        later = ~before & (r > 1 - cfg.close_share)
        start = np.maximum(opened, self.H)
        close[later] = (start + 30 + rng.integers(0, 1000, n))[later]
        return close

    def products(self, n: int) -> np.ndarray:
        p = np.exp(self.rng.normal(3.3, 1.4, n).astype(np.float32)).astype(np.int32) + 1
        return np.minimum(p, C.LARGE_ENTERPRISE_MIN_PRODUCTS - 1)

    def tiers(self, n: int) -> np.ndarray:
        u = self.rng.random(n, dtype=np.float32)
        return np.where(u < self.cfg.power_seller_share, POWER, REGULAR).astype(np.int8)

    def add(self, ent, plat, opened, close, tier, prod) -> None:
        """Keep the specs in compact dtypes (the world at scale 1 has ~10M accounts)."""
        self.parts.append(
            (
                np.asarray(ent, dtype=np.int32),
                np.asarray(plat, dtype=np.int8),
                np.asarray(opened, dtype=np.int16),
                np.minimum(close, NEVER).astype(np.int16),
                np.asarray(tier, dtype=np.int8),
                np.asarray(prod, dtype=np.int32),
            )
        )

    def add_accounts(self, ent, plat, pre_share=0.6, before_ok=True, tier=None, prod=None):
        opened = self.open_days(plat, pre_share)
        close = self.close_days(opened, before_ok)
        tier = self.tiers(len(ent)) if tier is None else tier
        prod = self.products(len(ent)) if prod is None else prod
        self.add(ent, plat, opened, close, tier, prod)

    def counted_at(self, d: int) -> np.ndarray:
        counts = np.zeros(len(C.MARKETPLACES), dtype=np.int64)
        for _ent, plat, opened, close, tier, _prod in self.parts:
            mask = (opened <= d) & (close > d) & (tier != BRAND) & (self.until[plat] >= d)
            counts += np.bincount(plat[mask].astype(np.int64), minlength=len(counts))
        return counts


def build_world(cfg: SimConfig, regions: Regions | None = None) -> World:
    """Draw the whole world for (seed, scale). Deterministic."""
    regions = regions or load_regions()
    b = _Builder(cfg)
    rng, X = b.rng, cfg.scale
    n_plat = len(C.MARKETPLACES)
    esm = {y: cfg.esmart_size(y) for y in C.ESMART_YEARS}
    K = round(cfg.kominfo_total * X)
    T = K - esm[2017] - cfg.kominfo_gap
    if T <= 0:
        raise ValueError(f"scale {X} too small: Kominfo total {K} below the e-Smart 2017 list")
    T_p = largest_remainder(T, b.shares)

    # 1. businesses on several platforms
    n_multi = round(T * cfg.multi_platform_share)
    ents = b.new_entities(n_multi)
    k = np.select(
        [rng.random(n_multi) < 0.70, rng.random(n_multi) < 0.75], [2, 3], default=4
    ).astype(np.int64)
    order = b.draw_platforms(n_multi, k, b.shares)
    cols = np.arange(n_plat)[None, :] < k[:, None]
    ent = np.repeat(ents, k)
    plat = order[cols]
    b.add_accounts(ent, plat)
    multi_first = order[:, 0]

    _mem("2 several")
    # 2. several shops on one platform (30% of them also on other platforms)
    n_same = round(T * cfg.same_platform_share)
    extra = np.where(rng.random(n_same) < 0.8, 1, 2)
    from_multi = rng.random(n_same) < 0.3
    n_from = int(from_multi.sum())
    same_ent = np.empty(n_same, dtype=np.int64)
    same_plat = np.empty(n_same, dtype=np.int64)
    if n_multi and n_from:
        pick = rng.choice(n_multi, size=min(n_from, n_multi), replace=False)
        from_multi[np.flatnonzero(from_multi)[len(pick) :]] = False
        same_ent[from_multi] = ents[pick]
        same_plat[from_multi] = multi_first[pick]
    fresh = ~from_multi
    same_ent[fresh] = b.new_entities(int(fresh.sum()))
    same_plat[fresh] = rng.choice(n_plat, size=int(fresh.sum()), p=b.shares)
    shops = extra + fresh.astype(np.int64)  # fresh businesses also get their first shop
    b.add_accounts(np.repeat(same_ent, shops), np.repeat(same_plat, shops))

    _mem("3 large")
    # 3. large enterprises: a brand-owner store plus unflagged shops elsewhere
    brand_w = np.array([1.0, 1.0, 1.0, 0.6, 1.0, 0.3, 0.6])
    n_lb = round(T * cfg.large_brand_share)
    lb = b.new_entities(n_lb)
    b.ent_large.append((lb, LARGE_BRAND))
    order = b.draw_platforms(n_lb, np.full(n_lb, 3), brand_w)
    b.add_accounts(
        lb,
        order[:, 0],
        pre_share=0.8,
        tier=np.full(n_lb, BRAND),
        prod=rng.integers(500, 60_000, n_lb),
    )
    kk = np.where(rng.random(n_lb) < 0.7, 1, 2)
    cols = (np.arange(n_plat)[None, :] >= 1) & (np.arange(n_plat)[None, :] <= kk[:, None])
    b.add_accounts(np.repeat(lb, kk), order[cols], pre_share=0.8)
    # ... flagged only by their size
    n_lp = round(T * cfg.large_products_share)
    lp = b.new_entities(n_lp)
    b.ent_large.append((lp, LARGE_PRODUCTS))
    b.add_accounts(
        lp,
        rng.choice(n_plat, size=n_lp, p=b.shares),
        pre_share=0.8,
        prod=rng.integers(C.LARGE_ENTERPRISE_MIN_PRODUCTS, 80_000, n_lp),
    )
    # ... brand-owner stores of enterprises with no other shop (never counted)
    n_bo = round(T * cfg.brand_only_share)
    bo = b.new_entities(n_bo)
    b.ent_large.append((bo, LARGE_BRAND_ONLY))
    b.add_accounts(
        bo,
        rng.choice(n_plat, size=n_bo, p=brand_w / brand_w.sum()),
        pre_share=0.8,
        tier=np.full(n_bo, BRAND),
        prod=rng.integers(500, 60_000, n_bo),
    )

    _mem("4 fill")
    # 4. fill every platform to its exact count at the headline date
    have = b.counted_at(b.H)
    fill = T_p - have
    if (fill < 0).any():
        raise ValueError(f"structured accounts exceed a platform's count: {fill.tolist()}")
    plat = np.repeat(np.arange(n_plat), fill)
    opened = b.open_days(plat, pre_share=1.0)
    close = np.full(len(plat), NEVER, dtype=np.int64)
    later = rng.random(len(plat)) < cfg.close_share
    close[later] = (b.H + 1 + rng.integers(30, 1000, len(plat)))[later]
    b.add(b.new_entities(len(plat)), plat, opened, close, b.tiers(len(plat)), b.products(len(plat)))
    # shops already closed at the headline date
    plat = np.repeat(np.arange(n_plat), np.round(T_p * cfg.closed_before_share).astype(np.int64))
    opened = np.minimum(b.open_days(plat, pre_share=1.0), b.H - 31)
    opened = np.maximum(opened, b.founded[plat])
    close = opened + 1 + (rng.random(len(plat)) * (b.H - opened)).astype(np.int64)
    b.add(b.new_entities(len(plat)), plat, opened, close, b.tiers(len(plat)), b.products(len(plat)))
    # growth after the headline date, toward the 2019 target
    end_have = b.counted_at(b.END)
    target_end = round(cfg.target_2019 * X) - sum(esm.values()) - cfg.kominfo_gap
    n_new = max(0, target_end - int(end_have.sum()))
    live = np.array([b.until[i] >= b.END for i in range(n_plat)])
    new_p = largest_remainder(n_new, np.where(live, b.shares, 0.0))
    for i in np.flatnonzero(~live):  # platforms that stop before 2019-12-31 grow until then
        frac = (min(b.until[i], b.END) - b.H) / (b.END - b.H)
        new_p[i] = round(n_new * b.shares[i] * max(0.0, frac))
    plat = np.repeat(np.arange(n_plat), new_p)
    opened = b.open_days(plat, pre_share=0.0)
    b.add(
        b.new_entities(len(plat)),
        plat,
        opened,
        np.full(len(plat), NEVER, dtype=np.int64),
        b.tiers(len(plat)),
        b.products(len(plat)),
    )
    n_market_entities = b.n_entities

    _mem("5 e-Smart")
    # 5. e-Smart IKM participants (most of them already selling online)
    all_ent = np.concatenate([p[0] for p in b.parts])
    all_plat = np.concatenate([p[1] for p in b.parts])
    all_tier = np.concatenate([p[4] for p in b.parts])
    all_open = np.concatenate([p[2] for p in b.parts])
    all_close = np.concatenate([p[3] for p in b.parts])
    all_prod = np.concatenate([p[5] for p in b.parts])
    b.parts.clear()
    large = np.zeros(n_market_entities, dtype=np.int8)
    for ids, kind in b.ent_large:
        large[ids] = kind
    first_plat = np.full(n_market_entities, -1, dtype=np.int8)
    first_plat[all_ent[::-1]] = all_plat[::-1]  # the first account's platform wins
    umkm_online = np.flatnonzero((large == LARGE_NONE) & (first_plat >= 0)).astype(np.int32)
    es_ent, es_year, es_mkt, es_cat = [], [], [], []
    used = np.zeros(n_market_entities, dtype=bool)
    for year in C.ESMART_YEARS:
        n = esm[year]
        n_old = min(round(n * cfg.esmart_from_marketplace), len(umkm_online))
        cand = umkm_online[~used[umkm_online]]
        old = np.sort(rng.choice(cand, size=min(n_old, len(cand)), replace=False))
        used[old] = True
        new = b.new_entities(n - len(old))
        es_ent += [old, new]
        es_year.append(np.full(n, year))
        es_mkt += [first_plat[old], rng.choice(n_plat - 1, size=len(new), p=_norm(b.shares[:-1]))]
        es_cat.append(rng.integers(0, 9, n))
    es_ent_a = np.concatenate(es_ent)
    esmart = Esmart(
        entity=es_ent_a.astype(np.int32),
        year=np.concatenate(es_year).astype(np.int16),
        number=np.arange(1, len(es_ent_a) + 1, dtype=np.int32),
        invalid=_invalid(rng, len(es_ent_a), cfg.invalid_share, (1, 2)),
        marketplace=np.concatenate(es_mkt).astype(np.int8),
    )

    _mem("6 the")
    # 6. the registry: registered online businesses, registry-only fillers, growth
    Ra = round(cfg.registry_active * X)
    first_open = np.full(n_market_entities, NEVER, dtype=np.int16)
    order_open = np.lexsort((-all_open.astype(np.int32), all_ent))  # per entity, latest first
    first_open[all_ent[order_open]] = all_open[order_open]  # the last write (earliest) wins
    del order_open
    linked = umkm_online[rng.random(len(umkm_online), dtype=np.float32) < cfg.registry_match_share]
    es_new = es_ent_a[es_ent_a >= n_market_entities]
    es_reg = es_new[rng.random(len(es_new)) < cfg.registry_esmart_share]
    r_ent = [linked, es_reg]
    r_day = [
        first_open[linked] + rng.normal(0, 365, len(linked)).astype(np.int16),
        day(date(2017, 1, 1)) + rng.integers(0, 1000, len(es_reg)),
    ]
    dup = linked[rng.random(len(linked)) < cfg.registry_duplicate_share]
    r_ent.append(dup)
    r_day.append(first_open[dup] + rng.integers(30, 700, len(dup)))
    reg_ent = np.concatenate(r_ent).astype(np.int32)
    reg_day = np.clip(np.concatenate(r_day), day(date(2008, 1, 1)), NEVER).astype(np.int32)
    inactive = np.full(len(reg_ent), NEVER, dtype=np.int32)
    gone = rng.random(len(reg_ent), dtype=np.float32) < cfg.registry_inactive_share
    inactive[gone] = (reg_day + rng.integers(60, 1500, len(reg_ent), dtype=np.int32))[gone]
    active_h = int(((reg_day <= b.H) & (inactive > b.H)).sum())
    n_fill = Ra - active_h
    if n_fill < 0:
        raise ValueError("registry_match_share too high for the registry's published count")
    fill_ent = b.new_entities(n_fill)
    fill_day = b.H - rng.exponential(900.0, n_fill).astype(np.int32)
    fill_day = np.maximum(fill_day, day(date(2008, 1, 1)))
    fill_inactive = np.full(n_fill, NEVER, dtype=np.int32)
    later = rng.random(n_fill, dtype=np.float32) < cfg.registry_inactive_share
    fill_inactive[later] = (b.H + 1 + rng.integers(0, 800, n_fill))[later]
    n_old = round(Ra * 0.04)  # registry-only records already `nonaktif` at the headline
    old_ent = b.new_entities(n_old)
    old_day = b.H - 200 - rng.integers(0, 2000, n_old)
    old_inactive = np.minimum(old_day + 30 + rng.integers(0, 1500, n_old), b.H - 1)
    n_grow = round(Ra * cfg.registry_growth)
    grow_ent = b.new_entities(n_grow)
    grow_day = b.H + 1 + rng.integers(0, b.END - b.H, n_grow)
    reg_ent = np.concatenate([reg_ent, fill_ent, old_ent, grow_ent])
    reg_day = np.concatenate([reg_day, fill_day, old_day, grow_day])
    inactive = np.concatenate(
        [inactive, fill_inactive, old_inactive, np.full(n_grow, NEVER, dtype=np.int32)]
    )
    keep = reg_day <= b.END
    reg_ent, reg_day, inactive = reg_ent[keep], reg_day[keep], inactive[keep]
    order = np.lexsort((reg_ent, reg_day))
    n_reg = len(order)
    reg_ent, reg_day, inactive = reg_ent[order], reg_day[order], inactive[order]
    reg_invalid = _invalid(rng, n_reg, cfg.invalid_share, (1, 3, 4))
    reg_dup = rng.random(n_reg, dtype=np.float32) < cfg.duplicate_share
    # Kemenkop's figure counts valid records: as many registry-only records as there are
    # invalid ones active at the headline come on top, so exactly Ra valid records are
    # `aktif` there. They are drawn from a generator of their own (and their entities come
    # last), so the main stream, and with it every other source, is what it was without them.
    n_main_entities = b.n_entities
    n_top = int(((reg_day <= b.H) & (inactive > b.H) & (reg_invalid != 0)).sum())
    top_rng = np.random.default_rng([cfg.seed, round(cfg.scale * 1_000_000), 8])
    top_ent = b.new_entities(n_top)
    top_day = b.H - top_rng.exponential(900.0, n_top).astype(np.int64)
    top_day = np.maximum(top_day, day(date(2008, 1, 1)))
    top_inactive = np.full(n_top, NEVER, dtype=np.int64)
    later = top_rng.random(n_top) < cfg.registry_inactive_share
    top_inactive[later] = (b.H + 1 + top_rng.integers(0, 800, n_top))[later]
    reg_ent = np.concatenate([reg_ent, top_ent])
    reg_day = np.concatenate([reg_day, top_day])
    inactive = np.concatenate([inactive, top_inactive])
    reg_invalid = np.concatenate([reg_invalid, np.zeros(n_top, dtype=np.int8)])
    reg_dup = np.concatenate([reg_dup, top_rng.random(n_top) < cfg.duplicate_share])
    order = np.lexsort((reg_ent, reg_day))
    registry = Registry(
        entity=reg_ent[order].astype(np.int32),
        reg=reg_day[order].astype(np.int16),
        inactive=np.minimum(inactive[order], NEVER).astype(np.int16),
        invalid=reg_invalid[order],
        dup=reg_dup[order],
    )
    del reg_ent, reg_day, inactive, order, keep, r_ent, r_day, linked, gone, dup, used
    del reg_invalid, reg_dup, top_ent, top_day, top_inactive
    del fill_ent, fill_day, fill_inactive, old_ent, old_day, old_inactive, grow_ent, grow_day
    del umkm_online, first_open

    _mem("7 entities")
    # 7. entity attributes
    n_ent, n_main = b.n_entities, n_main_entities
    attrs = _entity_attributes(rng, cfg, regions, n_main)
    top_attrs = _entity_attributes(top_rng, cfg, regions, n_ent - n_main)  # the top-up's
    ent_regency, ent_cat, ent_scale, ent_dormant = (
        np.concatenate([a, t]) for a, t in zip(attrs, top_attrs, strict=True)
    )
    del attrs, top_attrs
    ent_name = np.arange(n_ent, dtype=np.int32)
    twins = np.flatnonzero(rng.random(n_main, dtype=np.float32) < cfg.twin_share)
    partner = rng.integers(0, n_main, len(twins))
    ok = partner != twins
    twins, partner = twins[ok], partner[ok]
    ent_name[twins] = partner
    ent_regency[twins] = ent_regency[partner]
    ent_cat[twins] = ent_cat[partner]
    twins = twins[~np.isin(twins, esmart.entity)]  # e-Smart rows need one of the nine
    ent_cat[esmart.entity] = np.concatenate(es_cat)
    del partner
    ent_large = np.zeros(n_ent, dtype=np.int8)
    ent_large[:n_market_entities] = large
    ent_platform = np.full(n_ent, -1, dtype=np.int8)
    ent_platform[:n_market_entities] = first_plat

    _mem("8 the")
    # 8. the accounts of each platform, in opening order
    own = np.where(
        rng.random(len(all_ent), dtype=np.float32) < cfg.dormant_share * 0.5,
        rng.integers(day(date(2015, 1, 1)), b.END + 200, len(all_ent), dtype=np.int16),
        np.int16(NEVER),
    )
    follow = rng.random(len(all_ent), dtype=np.float32) < 0.85
    dormant = np.where(follow, ent_dormant[all_ent].astype(np.int16), own)
    del own, follow
    dormant = np.maximum(dormant, all_open)
    invalid = _invalid(rng, len(all_ent), cfg.invalid_share, (1, 2, 3))
    invalid[all_tier == BRAND] = 0  # brand-owner stores stay valid (they are the evidence)
    dup = rng.random(len(all_ent), dtype=np.float32) < cfg.duplicate_share
    tie = rng.random(len(all_ent), dtype=np.float32)
    platforms = []
    for i, name in enumerate(C.MARKETPLACES):
        idx = np.flatnonzero(all_plat == i)
        idx = idx[np.lexsort((tie[idx], all_open[idx]))]
        platforms.append(
            Platform(
                name=name,
                index=i,
                entity=all_ent[idx].astype(np.int32),
                open=all_open[idx].astype(np.int16),
                close=np.minimum(all_close[idx], NEVER).astype(np.int16),
                dormant=np.minimum(dormant[idx], NEVER).astype(np.int16),
                tier=all_tier[idx].astype(np.int8),
                products=all_prod[idx].astype(np.int32),
                invalid=invalid[idx],
                dup=dup[idx],
                until=int(b.until[i]) if name in C.UNTIL else NEVER,
            )
        )
    del all_ent, all_plat, all_tier, all_open, all_close, all_prod, dormant, invalid, dup, tie
    _mem("done")
    world = World(
        cfg=cfg,
        regions=regions,
        platforms=platforms,
        registry=registry,
        esmart=esmart,
        ent_regency=ent_regency,
        ent_cat=ent_cat,
        ent_scale=ent_scale,
        ent_name=ent_name,
        ent_large=ent_large,
        ent_platform=ent_platform,
    )
    if cfg.profile == "heldout":  # read once, before the listeners fork
        from umkm_sim.heldout import load_places

        world.places = load_places(regions)
    _release_memory()
    world.calibration = {
        "kominfo_total_headline": K,
        "registry_active_headline": Ra,
        "marketplace_counted_headline": T,
        "per_platform_counted_headline": dict(zip(C.MARKETPLACES, T_p.tolist(), strict=True)),
        "esmart_sizes": esm,
        "twin_pairs": len(twins),
    }
    return world


CHUNK = 1 << 20


def _release_memory() -> None:
    """Give the build's freed temporaries back to the OS (glibc keeps them otherwise)."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _mem(label: str) -> None:
    """Print the resident memory at a build step (UMKM_SIM_DEBUG_MEM=1)."""
    import os

    if os.environ.get("UMKM_SIM_DEBUG_MEM"):
        import resource

        import psutil

        rss = psutil.Process().memory_info().rss / 2**20
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"umkm_sim build {label}: rss {rss:.0f} MiB, peak {peak:.0f} MiB", flush=True)


def _entity_attributes(rng, cfg: SimConfig, regions: Regions, n: int):
    """Regency, category, scale and the day a business stops selling (chunked, compact:
    the world at scale 1 has ~11M entities)."""
    cdf = np.cumsum(regions.weights)
    cdf[-1] = 1.0
    regency = np.empty(n, dtype=np.int16)
    cat = np.empty(n, dtype=np.int8)
    scale = np.empty(n, dtype=np.int8)
    dormant = np.empty(n, dtype=np.int16)
    d0, d1 = day(date(2015, 1, 1)), day(C.LAST_SNAPSHOT) + 200
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        m = hi - lo
        regency[lo:hi] = np.searchsorted(cdf, rng.random(m), side="right").clip(0, len(cdf) - 1)
        u = rng.random(m, dtype=np.float32)
        # 75% one of the nine e-Smart commodities, 25% the six other categories
        nine = np.minimum((u / 0.75 * 9).astype(np.int8), 8)
        other = 9 + np.minimum(((u - 0.75) / 0.25 * (N_CATEGORIES - 9)).astype(np.int8), 5)
        cat[lo:hi] = np.where(u < 0.75, nine, other)
        u = rng.random(m, dtype=np.float32)
        scale[lo:hi] = np.where(u < 0.85, 0, np.where(u < 0.97, 1, 2))  # ASSUMPTION
        u = rng.random(m, dtype=np.float32)
        stop = d0 + (u / cfg.dormant_share * (d1 - d0)).astype(np.int32)
        dormant[lo:hi] = np.where(u < cfg.dormant_share, stop, NEVER)
    return regency, cat, scale, dormant


def _norm(w: np.ndarray) -> np.ndarray:
    return w / w.sum()


def _invalid(rng: np.random.Generator, n: int, share: float, kinds: tuple[int, ...]):
    out = np.zeros(n, dtype=np.int8)
    bad = rng.random(n) < share
    out[bad] = rng.choice(np.array(kinds, dtype=np.int8), size=int(bad.sum()))
    return out
