"""The analysts' report: one static HTML file plus its assets, opening without a server.

`umkm report --snapshot D` and the last task of `warehouse_build` call `build_report`.
Everything shown comes from `marts` and the `audit` bookkeeping: no personal data.
"""

from umkm.report.build import build_report

__all__ = ["build_report"]
