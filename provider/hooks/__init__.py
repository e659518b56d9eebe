"""dagspec.provider.hooks."""
