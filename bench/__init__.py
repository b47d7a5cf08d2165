"""Benchmarks of 法援助手, run as `.venv/bin/python -m bench.<name>`.

The benchmarks name their own senders (one per simulated person) on the
gateway's web API, which only a trusted server holding GATEWAY_API_TOKEN may
do (bot/web_identity.py). So a random token is made for each run and put in
the environment that every stack started from here inherits; the benchmarks'
HTTP sessions send it (API_HEADERS).
"""

from __future__ import annotations

import os
import secrets

os.environ.setdefault("GATEWAY_API_TOKEN", secrets.token_urlsafe(24))
API_HEADERS = {"Authorization": f"Bearer {os.environ['GATEWAY_API_TOKEN']}"}
