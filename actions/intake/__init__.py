"""The legal-aid application (申请登记): answers checked, materials listed, form printed.

The conversation itself is in `actions/intake_form.py` and `actions/intake_submit.py`;
this package holds what they use and what staff run (`python -m actions.intake export`).
"""
