"""What the gateway itself says to people, in one place, to be reviewed together
and, later, translated.

The dialogue's own words are Rasa's responses (domain.yml) and the actions';
these are the gateway's: when it answers without the dialogue (a message too
long, Rasa down, a lawyer's conversation), and the prompts of channels that
have their own (the hotline's keys, WeChat's menu, Telegram's commands).
Spoken channels get the same texts; those meant only for the ear say so.
"""

from __future__ import annotations

# The hotline (bot/hotline/call.py): spoken on the telephone ------------------------

HOTLINE_NOT_HEARD = "我没有听清楚，请再说一遍，或者按键选择。"
