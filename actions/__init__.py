"""Custom actions of 法援助手, served by rasa_sdk through `python -m actions.server`."""
