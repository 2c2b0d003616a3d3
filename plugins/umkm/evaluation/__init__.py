"""Accuracy of entity resolution against a simulator's planted truth.

Lives outside the pipeline: nothing the DAGs run imports it, and nothing in the pipeline
reads the truth (`truth/records.csv`, `truth/world.json`).
"""
