"""UMKM go-online warehouse: the project's Python package.

Everything a DAG does is a call into this package, so it can also be run and tested
without Airflow. See docs/ARCHITECTURE.md for the map of modules.
"""

__version__ = "0.1.0"
