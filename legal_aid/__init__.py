"""The legal domain of 法援助手: what the law and the policy documents decide.

Rules live as data in `policy/` (one file per region, each rule with its
citation); this package loads them and decides with them. It is the lowest
layer: it imports nothing from `actions/` (the Rasa layer), `bot/` (the
gateway), `store/` (persistence) or `voice/` (speech), and all of those may
import it (tests/test_layers.py checks).

* `policy_data`  — loading and merging the regional policy files.
* `eligibility`  — facts in, assessment out (shared/spec/eligibility.md).
* `handoff`      — priority groups and which lawyer may take a case.
* `intake`       — the application's fields, answers, materials and printed form.
* `places`, `numbers`, `times` — places, Chinese numbers and times, as people say them.
* `slots`, `channels` — the names every layer shares.
"""
