"""Legal-aid eligibility: facts in, assessment out (shared/spec/eligibility.md).

The rules and their citations live in policy/eligibility/<region>.yml; this
package only checks the facts, validates the rule files and evaluates them.
"""

from legal_aid.eligibility.engine import assess, condition_holds, reasons_to_apply
from legal_aid.eligibility.facts import FactError, check_facts
from legal_aid.eligibility.ruleset import load_ruleset

__all__ = [
    "FactError",
    "assess",
    "check_facts",
    "condition_holds",
    "load_ruleset",
    "reasons_to_apply",
]
