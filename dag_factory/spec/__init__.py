"""Spec text to typed, validated models with source positions (no Airflow, no Google)."""
