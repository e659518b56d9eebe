"""dagspec.provider.emulator."""
