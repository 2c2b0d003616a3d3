"""dbt: how the project invokes it (one place for paths, profile and environment)."""
