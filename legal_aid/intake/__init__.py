"""The legal-aid application (申请登记): answers checked, materials listed, form printed.

The conversation itself is in `actions/intake_form.py` and `actions/intake_submit.py`;
this package holds the rules they use: the fields and how answers are read, the
materials checklist and the printed form. Storing an application is `store.intake`.
"""
