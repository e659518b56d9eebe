"""dagspec.provider.triggers."""
