"""dagspec.provider.operators."""
