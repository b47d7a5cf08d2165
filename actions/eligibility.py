"""`python -m actions.eligibility`: the public command of shared/spec/eligibility.md.

The engine is the domain's (`legal_aid.eligibility`); this module only keeps the
command's published name.
"""

import sys

from legal_aid.eligibility.cli import main

# The action server imports every module of the actions package: run only as a command.
if __name__ == "__main__":
    sys.exit(main())
