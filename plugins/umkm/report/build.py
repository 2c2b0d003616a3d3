"""Assemble the report: data from the warehouse, charts, one HTML file plus plotly.min.js."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, date, datetime
from pathlib import Path

import jinja2
import markupsafe

from umkm import settings
from umkm.naming import parse_snapshot
from umkm.report import charts
from umkm.report.data import fetch

TEMPLATE = Path(__file__).with_name("report.html.j2")


def plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def render(snapshot: date, data: dict, built_in_s: float | None = None) -> str:
    names = ["bridge", "population", "platforms", "platforms_per_business", "overlap"]
    names += ["provinces", "commodities", "progress"]
    panels: dict[str, str | None] = dict.fromkeys(names)
    if data.get("bridge"):
        panels["bridge"] = charts.bridge_waterfall(data["bridge"])
    if data.get("population"):
        panels["population"] = charts.population(data["population"])
    if data.get("platforms"):
        panels["platforms"] = charts.bars(
            data["platforms"],
            "platform",
            "active_umkm",
            "Active online UMKM by platform",
            "platforms-chart",
        )
    if data.get("platforms_per_business"):
        panels["platforms_per_business"] = charts.bars(
            data["platforms_per_business"],
            "platform_count",
            "businesses",
            "Businesses by number of marketplaces",
            "ppb-chart",
        )
    if data.get("overlap"):
        panels["overlap"] = charts.overlap_heatmap(data["overlap"])
    if data.get("provinces"):
        panels["provinces"] = charts.bars(
            data["provinces"],
            "province_name",
            "active_umkm",
            "Active online UMKM by province",
            "provinces-chart",
            horizontal=True,
        )
    if data.get("commodities"):
        panels["commodities"] = charts.bars(
            data["commodities"],
            "commodity",
            "active_umkm",
            "Active online UMKM by commodity",
            "commodities-chart",
            horizontal=True,
        )
    if data.get("progress"):
        panels["progress"] = charts.progress(data["progress"])
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(TEMPLATE.read_text())
    return template.render(
        snapshot=snapshot,
        data=data,
        # plotly output we generated ourselves: trusted HTML, no user-typed text in it
        panels={k: markupsafe.Markup(v) if v else None for k, v in panels.items()},  # noqa: S704
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        built_in_s=built_in_s,
    )


class NothingToReport(RuntimeError):
    """Not one panel's relation exists: the warehouse was never bootstrapped or built."""


def build_report(snapshot: str | date, out_dir: Path | None = None, url: str | None = None) -> Path:
    """Write `index.html` (and `report-<snapshot>.html`) with `plotly.min.js` beside it."""
    from umkm.warehouse import connect

    started = time.monotonic()
    snap = parse_snapshot(snapshot)
    out_dir = Path(out_dir or settings.reports_dir())
    out_dir.mkdir(parents=True, exist_ok=True)
    with connect(url) as conn:
        data = fetch(conn, snap)
    if all(rows is None for rows in data.values()):
        raise NothingToReport(
            "the warehouse holds neither marts nor audit tables: bootstrap and build it "
            "first (umkm run, or umkm warehouse bootstrap then the DAGs)"
        )
    html = render(snap, data, round(time.monotonic() - started, 2))
    js = out_dir / "plotly.min.js"
    if not js.exists() or js.stat().st_size != plotly_js().stat().st_size:
        shutil.copyfile(plotly_js(), js)
    page = out_dir / f"report-{snap.isoformat()}.html"
    page.write_text(html)
    (out_dir / "index.html").write_text(html)
    return page
