"""Validated specs to the frozen plain-data plan (pure: no Airflow, no Google)."""
