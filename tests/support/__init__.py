"""What the tests share and cannot take from the real world here: simulators and
fakes that speak the real wire protocols (Asterisk's AudioSocket, AMI and ARI;
Telegram's Bot API; WeChat's callbacks and API), a PostgreSQL server on
loopback, and helpers for the browser, voice and application tests."""
