"""Tests of the local Dataproc and GCS emulators."""
