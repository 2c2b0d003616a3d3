"""Planted truth: the bridge of docs/BRIDGE.md computed from the world, and the record list.

`truth/world.json` holds, per snapshot, every bridge step under its step id (computed on the
records that pass validation, i.e. after the planted invalid records are quarantined), the
running totals, the planted invalid records by source and kind, the true number of online
UMKM (including those on no list) and totals per platform. `truth/records.csv` lists every
record served (`snapshot,source_id,record_id,entity_id`), invalid ones and both copies of a
duplicated record included. The pipeline never reads either file.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np

from umkm_sim import config as C
from umkm_sim import render
from umkm_sim.world import (
    BRAND,
    DUPLICATE_KIND,
    INVALID_KINDS,
    LARGE_NONE,
    World,
    day,
)

#: The reconciliation bridge's step ids, in order (docs/BRIDGE.md, from the shared
#: RECONCILIATION.md): the keys of world.json's bridge. The pipeline spells the same ids in
#: `umkm.bridge.STEP_IDS`; tests/sim/test_package.py pins the two equal.
STEP_IDS: tuple[str, ...] = (
    "kominfo_published",
    "feed_recount_gap",
    "ministry_list_records",
    "same_platform_duplicate_shops",
    "cross_platform_duplicates",
    "large_enterprises",
    "dormant_accounts",
    "not_in_registry",
    "registry_only",
    "kemenkopukm_registry",
)


def entity_id(index: int) -> str:
    return f"E{index:09d}"


def kominfo_summary(world: World, d: int) -> dict:
    """The published summary for day `d`: per marketplace the open, non-brand accounts it
    serves (invalid ones included: Kominfo counted them), plus the e-Smart rows of the files
    through the snapshot's year, plus the `kominfo_gap` knob split over the platforms."""
    year = _year(d)
    live = [p for p in world.platforms if p.has_data(d)]
    counts = []
    for p in live:
        n = p.n_accounts(d)
        counted = (p.close[:n] > d) & (p.tier[:n] != BRAND)
        counts.append(int(counted.sum()))
    gap = world.cfg.kominfo_gap
    if gap and live:
        shares = np.array([world.cfg.platform_shares[p.name] for p in live], dtype=float)
        sign = 1 if gap > 0 else -1
        from umkm_sim.world import largest_remainder

        parts = largest_remainder(abs(gap), shares) * sign
        counts = [c + int(g) for c, g in zip(counts, parts, strict=True)]
    rincian = [
        {"sumber": C.KOMINFO_NAMES[p.name], "jumlah": c} for p, c in zip(live, counts, strict=True)
    ]
    rincian.append({"sumber": C.MINISTRY_SUMBER, "jumlah": world.esmart.n_through(year)})
    return {"total": sum(r["jumlah"] for r in rincian), "rincian": rincian}


def _year(d: int) -> int:
    from umkm_sim.world import from_day

    return from_day(d).year


def _on_no_list(
    world: World, marketplace: np.ndarray, registry: np.ndarray, esmart: np.ndarray
) -> int:
    """Online UMKM on no list (ASSUMPTION, docs/SIMULATOR.md): as many as make the odds ratio
    of marketplace and registry presence over all online UMKM equal `list_odds_ratio`
    (both x neither / (marketplace only x registry only); 1 means the two lists are
    independent, which is what two-list capture-recapture assumes). e-Smart participants on
    neither list fill part of the 'neither' cell; the rest is on no list at all."""
    small = world.ent_large == LARGE_NONE
    m = np.unique(marketplace)
    m = m[small[m]]
    r = np.unique(registry)
    r = r[small[r]]
    both = len(np.intersect1d(m, r, assume_unique=True))
    if both == 0:
        return 0
    only_m, only_r = len(m) - both, len(r) - both
    neither = round(world.cfg.list_odds_ratio * only_m * only_r / both)
    e = np.unique(esmart)
    esmart_only = len(np.setdiff1d(e[small[e]], np.union1d(m, r), assume_unique=True))
    return max(0, neither - esmart_only)


def bridge(world: World, snapshot: date) -> dict:
    """Every step of docs/BRIDGE.md for one snapshot, plus the planted totals behind it."""
    d = day(snapshot)
    year = snapshot.year
    summary = kominfo_summary(world, d)
    K = summary["total"]
    ents, plats, products, dormant = [], [], [], []
    brand_entities = []
    per_platform = {}
    invalid_counts: dict[str, dict[str, int]] = {}
    true_active = []
    for p in world.platforms:
        if not p.has_data(d):
            per_platform[p.name] = {"has_data": False}
            continue
        n = p.n_accounts(d)
        valid = p.invalid[:n] == 0
        brand = p.tier[:n] == BRAND
        closed = p.close[:n] <= d
        is_dormant = p.dormant[:n] <= d - C.DORMANT_DAYS
        counted = valid & ~brand & ~closed
        ents.append(p.entity[:n][counted])
        plats.append(np.full(int(counted.sum()), p.index, dtype=np.int8))
        products.append(p.products[:n][counted])
        dormant.append(is_dormant[counted])
        brand_entities.append(p.entity[:n][brand & valid])
        true_active.append(p.entity[:n][~brand & ~closed & ~is_dormant])
        per_platform[p.name] = {
            "has_data": True,
            "records_served": p.n_rows(d),
            "accounts": n,
            "brand_owner_stores": int(brand.sum()),
            "closed": int(closed.sum()),
            "counted_raw": int((~brand & ~closed).sum()),
            "counted_valid": int(counted.sum()),
            "dormant_counted": int((counted & is_dormant).sum()),
            "distinct_businesses_counted": len(np.unique(p.entity[:n][counted])),
        }
        invalid_counts[p.name] = _invalid_counts(p.invalid[:n], p.dup[:n])
    # the per-platform lists are dropped once joined (at scale 1.0 each copy of the counted
    # accounts' arrays is tens of MiB; `umkm sim truth` is to stay under 1 GiB)
    ent, plat = np.concatenate(ents), np.concatenate(plats)
    prod, dorm = np.concatenate(products), np.concatenate(dormant)
    del ents, plats, products, dormant
    ministry = world.esmart.n_valid_through(year)
    counted_accounts = len(ent)
    R = counted_accounts + ministry
    pairs = len(np.unique(ent.astype(np.int64) * 8 + plat))
    B_set = np.unique(ent)
    large_evidence = np.union1d(
        np.concatenate(brand_entities), ent[prod >= C.LARGE_ENTERPRISE_MIN_PRODUCTS]
    )
    large_in_B = np.intersect1d(B_set, large_evidence, assume_unique=False)
    U_set = np.setdiff1d(B_set, large_in_B)
    has_active = np.unique(ent[~dorm])
    A_set = np.intersect1d(U_set, has_active)
    dormant_businesses = len(U_set) - len(A_set)
    del ent, plat, prod, dorm, has_active, large_evidence
    reg = world.registry
    n_reg = reg.n_records(d)
    reg_active = (reg.inactive[:n_reg] > d) & (reg.invalid[:n_reg] == 0)
    Cn = int(reg_active.sum())
    reg_entities = np.unique(reg.entity[:n_reg][reg_active])
    A_reg = np.intersect1d(A_set, reg_entities)
    steps = {
        "kominfo_published": K,
        "feed_recount_gap": R - K,
        "ministry_list_records": -ministry,
        "same_platform_duplicate_shops": -(counted_accounts - pairs),
        "cross_platform_duplicates": -(pairs - len(B_set)),
        "large_enterprises": -len(large_in_B),
        "dormant_accounts": -dormant_businesses,
        "not_in_registry": -(len(A_set) - len(A_reg)),
        "registry_only": Cn - len(A_reg),
        "kemenkopukm_registry": Cn,
    }
    running, total = {}, 0
    for sid in STEP_IDS[:-1]:
        total += steps[sid]
        running[sid] = total
    running["kemenkopukm_registry"] = Cn
    assert total == Cn, "bridge does not close"
    invalid_counts["kemenkopukm"] = _invalid_counts(reg.invalid[:n_reg], reg.dup[:n_reg])
    es_rows = world.esmart.year <= year
    invalid_counts["kemenperin"] = _invalid_counts(
        world.esmart.invalid[es_rows], np.zeros(int(es_rows.sum()), dtype=bool)
    )
    # the real number of online UMKM: active on a marketplace, or in the registry as
    # active (online through social media or own site), or trained and onboarded by e-Smart,
    # plus those on no list at all
    reg_all_active = np.unique(reg.entity[:n_reg][reg.inactive[:n_reg] > d])
    es_entities = world.esmart.entity[es_rows]
    active_accounts = np.concatenate(true_active)
    del true_active
    listed = np.unique(np.concatenate([active_accounts, reg_all_active, es_entities]))
    listed = listed[world.ent_large[listed] == LARGE_NONE]
    hidden = _on_no_list(world, active_accounts, reg_all_active, es_entities)
    return {
        "snapshot": snapshot.isoformat(),
        "steps": [
            {"order": i + 1, "step_id": sid, "value": steps[sid], "running_total": running[sid]}
            for i, sid in enumerate(STEP_IDS)
        ],
        "bridge": steps,
        "totals": {
            "kominfo_published": K,
            "kominfo_rincian": summary["rincian"],
            "recount_from_feeds": R,
            "counted_accounts": counted_accounts,
            "ministry_list_records": ministry,
            "distinct_businesses_on_marketplaces": len(B_set),
            "umkm_on_marketplaces": len(U_set),
            "active_online_umkm": len(A_set),
            "active_online_umkm_in_registry": len(A_reg),
            "registry_active_records": Cn,
            "registry_active_records_served": int((reg.inactive[:n_reg] > d).sum()),
            "registry_records_served": reg.n_rows(d),
            "kominfo_gap_knob": world.cfg.kominfo_gap,
        },
        "true_online_umkm": {
            "listed": len(listed),
            "on_no_list": hidden,
            "total": len(listed) + hidden,
        },
        "per_platform": per_platform,
        "invalid_records": invalid_counts,
        "residual": Cn - sum(steps[s] for s in STEP_IDS[:-1]),
    }


def _invalid_counts(invalid: np.ndarray, dup: np.ndarray) -> dict[str, int]:
    counts = np.bincount(invalid.astype(np.int64), minlength=max(INVALID_KINDS) + 1)
    out = {INVALID_KINDS[k]: int(counts[k]) for k in INVALID_KINDS if counts[k]}
    n_dup = int(dup.sum())
    if n_dup:
        out[DUPLICATE_KIND] = n_dup
    return out


def world_doc(world: World, snapshots: list[date]) -> dict:
    cfg = world.cfg
    config = {
        k: v
        for k, v in cfg.__dict__.items()
        if isinstance(v, int | float | str) or k in ("platform_shares",)
    }
    if cfg.profile != "default":  # the held-out profile's rates
        config["noise"] = dict(cfg.noise.__dict__)
    return {
        "seed": cfg.seed,
        "scale": cfg.scale,
        "definitions": "docs/BRIDGE.md; docs/SIMULATOR.md",
        "calibration": world.calibration,
        "config": config,
        "snapshots": {s.isoformat(): bridge(world, s) for s in snapshots},
    }


#: records rendered at a time: the ids of a whole source at scale 1.0 as Python strings
#: took 380 MiB more than the world itself
RECORDS_CHUNK = 1 << 18


def _write_served(out, snapshot: str, source_id: str, source, d: int, ids_of) -> int:
    """The rows a platform or the registry serves on day `d`, RECORDS_CHUNK at a time;
    `ids_of` renders the record ids of account or record indexes."""
    total = source.n_rows(d)
    for start in range(0, total, RECORDS_CHUNK):
        rows = source.acc_of_rows(np.arange(start, min(start + RECORDS_CHUNK, total)))
        for rid, e in zip(ids_of(rows), source.entity[rows].tolist(), strict=True):
            out.writerow([snapshot, source_id, rid, entity_id(e)])
    return total


def write_records(world: World, snapshots: list[date], path: Path) -> int:
    """`snapshot,source_id,record_id,entity_id` for every record served, in feed order."""
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["snapshot", "source_id", "record_id", "entity_id"])
        for snap in snapshots:
            d = day(snap)
            s = snap.isoformat()
            for p in world.platforms:
                if p.has_data(d):
                    n += _write_served(out, s, p.name, p, d, partial(render.account_ids, p))
            n += _write_served(out, s, "kemenkopukm", world.registry, d, render.registry_ids)
            es = world.esmart
            for year in C.ESMART_YEARS:
                if year > snap.year:
                    continue
                idx = es.rows_of(year)
                for num, e in zip(es.number[idx].tolist(), es.entity[idx].tolist(), strict=True):
                    out.writerow([s, "kemenperin", str(num), entity_id(e)])
                n += len(idx)
    return n


def write_truth(world: World, snapshots: list[date], out_dir: Path) -> Path:
    """Write `<out_dir>/truth/records.csv` and `<out_dir>/truth/world.json`."""
    from umkm_sim.world import _release_memory

    target = Path(out_dir) / "truth"
    target.mkdir(parents=True, exist_ok=True)
    # peak memory (scale 1.0): the bridge's temporaries on top of the world; glibc keeps
    # what a step freed unless it is given back, so each step starts from the world alone
    _release_memory()
    doc = world_doc(world, snapshots)
    _release_memory()
    write_records(world, snapshots, target / "records.csv")
    (target / "world.json").write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return target
