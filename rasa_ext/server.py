"""The Rasa server as the launcher starts it: `rasa …` with the project's fixes.

    python -m rasa_ext.server run --enable-api --model … (rasa's own arguments)

* Always: the action server's answers are checked against a schema compiled
  once (rasa_ext/action_calls.py), not recompiled on every custom action;
  stored events find their class once per type (rasa_ext/event_types.py);
  DIET's and TED's traced graphs are called without tf.function's dispatch
  (rasa_ext/graph_calls.py); slots are copied without pickling (rasa_ext/slot_copies.py);
  and Rasa's structured logs withhold what people said (rasa_ext/private_logs.py).
* With TURN_TIMINGS set: each turn's stages are timed and logged
  (rasa_ext/timings.py), for bench/turn_latency.py.

Plain `rasa run` still works, slower per custom action and with text in its failure logs.
"""

from __future__ import annotations

import os
import sys

from rasa_ext import action_calls, event_types, graph_calls, private_logs, slot_copies, timings


def main() -> None:
    action_calls.install()
    event_types.install()
    graph_calls.install()
    slot_copies.install()
    private_logs.install()
    if os.environ.get(timings.ENVIRONMENT_SWITCH):
        timings.install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
