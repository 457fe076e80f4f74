"""Project set-up helpers (stack registration, default data)."""
