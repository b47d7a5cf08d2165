"""Extensions loaded by the Rasa server itself (not by the gateway or actions)."""
