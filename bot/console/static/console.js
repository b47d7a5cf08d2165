// The console without reloads: the queue arrives by WebSocket, an open
// ticket's new messages are fetched every few seconds. Without this script
// every page still works by reloading it.
"use strict";

(function () {
  const QUEUE_RETRY_MS = 5000;
  const MESSAGES_EVERY_MS = 3000;

  function say(regionId, text) {
    // Cleared first so that the same words are announced again.
    const region = document.getElementById(regionId);
    if (!region || !text) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 100);
  }

  function watchQueue() {
    const rows = document.getElementById("queue-rows");
    if (!rows) return;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/console/ws");
    socket.addEventListener("message", function (event) {
      const update = JSON.parse(event.data);
      // Keep the keyboard where it was if the focused row is still there.
      const focusedText = rows.contains(document.activeElement) ? document.activeElement.textContent : null;
      rows.innerHTML = update.rows;
      document.getElementById("queue-count").textContent = String(update.count);
      if (focusedText) {
        const same = Array.from(rows.querySelectorAll("button, a")).find(function (el) {
          return el.textContent === focusedText;
        });
        (same || document.getElementById("queue")).focus();
      }
      say("queue-live", update.announce);
    });
    socket.addEventListener("close", function () { window.setTimeout(watchQueue, QUEUE_RETRY_MS); });
  }

  function watchMessages() {
    const list = document.getElementById("messages");
    if (!list) return;
    const url = "/console/ticket/" + encodeURIComponent(list.dataset.reference) + "/messages?after=";
    window.setInterval(async function () {
      if (document.visibilityState !== "visible") return;
      // Only what is new: a refresh that finds nothing reads (and logs) nothing.
      const response = await fetch(url + list.dataset.last, { credentials: "same-origin" });
      if (!response.ok) return;
      const count = Number(response.headers.get("X-Message-Count"));
      if (!count) return;
      const empty = list.querySelector(".empty");
      if (empty) empty.remove();
      list.insertAdjacentHTML("beforeend", await response.text());
      list.dataset.last = list.lastElementChild.dataset.id;
      say("messages-live", "有 " + count + " 条新消息：" + list.lastElementChild.textContent);
    }, MESSAGES_EVERY_MS);
  }

  watchQueue();
  watchMessages();
})();
