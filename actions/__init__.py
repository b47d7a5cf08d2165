"""Custom actions of 法援助手, served by `rasa run actions` (rasa_sdk)."""
