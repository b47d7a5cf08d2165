"""The gateway: one aiohttp application hosting every channel of 法援助手."""
