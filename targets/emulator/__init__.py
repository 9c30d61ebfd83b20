"""emulator backend."""
