"""Benchmarks of 法援助手, run as `.venv/bin/python -m bench.<name>`."""
