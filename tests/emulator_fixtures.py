"""Pytest fixtures that start the local Dataproc and GCS emulators on 127.0.0.1 (owned by the emulator)."""
