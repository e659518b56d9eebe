"""Bring dag-factory (astronomer) YAML configurations over to dagspec specs: ``dagspec import-dag-factory``."""

from .convert import Issue, convert_paths

__all__ = ["Issue", "convert_paths"]
