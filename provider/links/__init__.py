"""dagspec.provider.links."""
