"""Human-activity recognition core: pure functions the ZenML steps call (no ZenML imports)."""
