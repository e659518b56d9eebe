"""Tests of the local stack (Airflow 3 + emulators on 127.0.0.1) and its UI."""
