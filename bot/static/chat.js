// Minimal web chat for POST /api/chat. Replies are announced by the log's
// aria-live region; buttons become real <button>s reachable by keyboard.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("message");
  const senderKey = "fayuan-sender";
  let sender = localStorage.getItem(senderKey);
  if (!sender) {
    sender = "web-" + crypto.randomUUID();
    localStorage.setItem(senderKey, sender);
  }

  function addLine(who, text, buttons) {
    const item = document.createElement("li");
    item.className = who === "我" ? "user" : "bot";
    const label = document.createElement("span");
    label.className = "who";
    label.textContent = who + "：";
    item.append(label, document.createTextNode(text));
    if (buttons && buttons.length) {
      const choices = document.createElement("div");
      choices.className = "choices";
      buttons.forEach(function (b) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        button.addEventListener("click", function () { send(b.payload, b.title); });
        choices.append(button);
      });
      item.append(choices);
    }
    log.append(item);
    item.scrollIntoView({ block: "end" });
  }

  async function send(message, shown) {
    addLine("我", shown || message);
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: sender, message: message }),
      });
      const replies = await response.json();
      if (!response.ok || !Array.isArray(replies)) throw new Error("bad response");
      replies.forEach(function (r) { if (r.text || (r.buttons || []).length) addLine("助手", r.text, r.buttons); });
    } catch (e) {
      addLine("助手", "网络好像断了，消息没有发出去。请检查网络后再试；着急的话，可以拨打12348公共法律服务热线。");
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
    input.focus();
  });
})();
