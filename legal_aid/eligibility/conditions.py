"""The named conditions of policy/eligibility that code outside the engine asks about.

Each is defined once, with its source, under `conditions:` in the region files
(national.yml, inherited or overridden by the regions); here are only their
names, so that a consumer asks `condition_holds(MINOR, facts)` instead of
restating "age < 18". tests/test_eligibility.py checks every region defines them.
"""

from __future__ import annotations

MINOR = "minor"
ELDERLY = "elderly"
# 《法律援助法》第四十四条第（一）项、第（二）项: the two urgent circumstances.
DEADLINE_UNDER_SEVEN_DAYS = "deadline_under_seven_days"
URGENT_PRESERVATION = "urgent_preservation"

ASKED_BY_CODE = (MINOR, ELDERLY, DEADLINE_UNDER_SEVEN_DAYS, URGENT_PRESERVATION)
