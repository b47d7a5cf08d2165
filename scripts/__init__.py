"""Project tooling: setup, model cache and the launcher of all three processes."""
