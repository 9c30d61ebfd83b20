"""Our own Lava processes/ProcessModels (imported only in the Lava interpreter)."""
