"""Handing a conversation to a human lawyer on duty (转人工): the rules.

* `policy`   — policy/handoff/<region>.yml, checked: 四优先 groups, the advance-aid
  urgency, lawyer requirements (art. 26, Baotou measures), each with its citation.
* `matching` — pure functions: `priority`, `eligible_lawyers`, `match`.

Persistence, authorization and the audit log are in `store.handoff` (a store
per caller) and `store.staff` (staff accounts); they call these rules, so a
lawyer's claim is checked against the same requirements the matching uses.
"""
