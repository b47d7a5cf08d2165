// The web chat on POST /api/chat. Without this script the page still works
// through its plain forms (POST /chat, answered with a whole page); with it,
// replies arrive without a reload and the log's aria-live region announces them.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const input = document.getElementById("message");
  const pending = document.getElementById("pending");
  const NETWORK_ERROR =
    "网络好像断了，消息没有发出去。请检查网络后再试；着急的话，可以拨打12348公共法律服务热线。";
  const SERVER_ERROR =
    "服务器出了点问题，消息没有处理。请过一会儿再试；着急的话，可以拨打12348公共法律服务热线。";
  const MIC_REFUSED = "没有拿到麦克风。请在浏览器里允许使用麦克风，或者直接打字。";
  const VOICE_FAILED = "这段语音没有发出去。请再说一次，或者直接打字。";
  // "1", "１", "1." or "1。": a choice picked by its number (bot/transcript.py reads it the same way).
  const CHOICE_NUMBER = /^\s*([0-9０-９]{1,2})\s*[.。、]?\s*$/;
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  // Streamed turns (bot/voice_stream.py): the gateway recognises while the person
  // speaks, so the answer comes sooner. Where the browser cannot stream, the
  // whole recording is uploaded when the button is released.
  const STREAM_URL = "/api/voice/stream";
  const STREAM_RATE = 16000;
  const STREAM_CHUNK_SAMPLES = STREAM_RATE / 10; // sent every 0.1 s
  const canStream = Boolean(window.WebSocket && window.AudioContext && window.AudioWorkletNode);

  // The choices of the assistant's last turn, numbered 1, 2, … across its messages.
  let openChoices = [];
  // Turns are sent one after another, so replies never overtake each other.
  let turns = Promise.resolve();
  // Set once the page reads replies aloud: "再说一遍"/"说慢一点" are then spoken turns.
  let sayAloud = null;

  // localStorage may be refused (private windows, strict settings): the chat
  // then simply forgets its settings on reload. Who is speaking is not kept
  // here: the gateway gives the page its identity in an HttpOnly cookie on the
  // first request (bot/web_identity.py), and every same-origin request (fetch,
  // the voice WebSocket) sends it back.
  function remembered(key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }
  function remember(key, value) {
    try { localStorage.setItem(key, value); } catch (e) { /* not remembered */ }
  }

  // Large text and high contrast: toggle buttons whose state is the class on <html>.
  function setUpDisplayModes() {
    ["large-text", "high-contrast"].forEach(function (mode) {
      const button = document.getElementById(mode);
      showMode(mode, remembered("fayuan-" + mode) === "on");
      button.addEventListener("click", function () {
        const on = button.getAttribute("aria-pressed") !== "true";
        showMode(mode, on);
        remember("fayuan-" + mode, on ? "on" : "off");
      });
    });
    document.getElementById("display-modes").hidden = false;
  }

  function showMode(mode, on) {
    document.documentElement.classList.toggle(mode, on);
    document.getElementById(mode).setAttribute("aria-pressed", String(on));
  }

  function addMessage(speaker, text, choices, firstNumber) {
    const item = document.createElement("div");
    item.className = "msg " + (speaker === "user" || speaker === "bot" ? speaker : "bot lawyer");
    const who = document.createElement("span");
    who.className = "who";
    // A lawyer's message (a handoff) names the lawyer, so a screen reader says who speaks.
    who.textContent = (speaker === "user" ? "我" : speaker === "bot" ? "助手" : speaker) + "：";
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    item.append(who, body);
    if (choices.length) item.append(choiceButtons(choices, firstNumber));
    log.append(item);
    item.scrollIntoView({ block: "nearest", behavior: reducedMotion.matches ? "auto" : "smooth" });
  }

  // A file the assistant offers (the filled-in application form): plain links,
  // so a screen reader announces them and the browser's own download applies.
  function addDocument(documentOffer) {
    if (!String(documentOffer.url || "").startsWith("/")) return;
    const paragraph = document.createElement("p");
    paragraph.className = "document";
    paragraph.append(downloadLink(documentOffer.url, "下载" + documentOffer.title + "（PDF）"));
    if (documentOffer.large_print_url) {
      paragraph.append(" ", downloadLink(documentOffer.large_print_url, "下载大字版（PDF）"));
    }
    log.lastElementChild.append(paragraph);
  }

  function downloadLink(url, label) {
    const link = document.createElement("a");
    link.href = url;
    link.download = "";
    link.textContent = label;
    return link;
  }

  // Real buttons, numbered as the spoken prompts number them ("说一，或者按一").
  function choiceButtons(choices, firstNumber) {
    const group = document.createElement("div");
    group.className = "choices";
    choices.forEach(function (choice, index) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = firstNumber + index + ". " + choice.title;
      button.addEventListener("click", function () {
        // The button is closed once pressed: focus goes where the next answer is typed.
        input.focus();
        say(choice.payload, choice.title);
      });
      group.append(button);
    });
    return group;
  }

  // Earlier choices stay visible as part of the conversation but can no longer be pressed.
  function closeChoices() {
    log.querySelectorAll(".choices button").forEach(function (button) { button.disabled = true; });
    openChoices = [];
  }

  function choiceByNumber(text) {
    const match = CHOICE_NUMBER.exec(text);
    if (!match) return null;
    const digits = match[1].replace(/[０-９]/g, function (d) { return String(d.charCodeAt(0) - 0xff10); });
    return openChoices[Number(digits) - 1] || null;
  }

  function say(message, shown) {
    closeChoices();
    addMessage("user", shown || message, [], 1);
    turns = turns.then(function () { return exchange(message); });
  }

  async function exchange(message) {
    pending.textContent = "助手正在回答……";
    try {
      showReplies(await post("/api/chat", { message: message }, Array.isArray));
    } catch (error) {
      addMessage("bot", error.shownToPerson || NETWORK_ERROR, [], 1);
    } finally {
      pending.textContent = "";
    }
  }

  // The JSON answer to a JSON request, or an error with what to tell the person.
  async function post(url, payload, isAnswer) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    const body = await response.json().catch(function () { return null; });
    if (!response.ok || !body || !isAnswer(body)) {
      const error = new Error("chat request failed: " + response.status);
      error.shownToPerson = body && body.error ? "消息没有发出去：" + body.error : SERVER_ERROR;
      throw error;
    }
    return body;
  }

  function showReplies(replies) {
    let number = 1;
    replies.forEach(function (reply) {
      const buttons = reply.buttons || [];
      // Rasa sends a message's attachment as a reply of its own, after its text.
      if (reply.custom && reply.custom.document) addDocument(reply.custom.document);
      if (reply.custom && reply.custom.handoff) followHandoff(reply.custom.handoff.status);
      if (!reply.text && !buttons.length) return;
      addMessage("bot", reply.text || "", buttons, number);
      number += buttons.length;
      openChoices = openChoices.concat(buttons);
    });
  }

  // While a lawyer has the conversation (转人工), the page asks the gateway for the
  // lawyer's messages (a long poll), so they arrive without the person typing.
  // Only while a handoff is open; it stops when the gateway says it ended.
  let handoffOpen = false;
  let lastLawyerMessage = 0;
  // Set when the page reads replies aloud: the lawyer's words are then read too.
  let lawyerAloud = null;
  function followHandoff(status) {
    const open = status === "open";
    if (open && !handoffOpen) {
      handoffOpen = true;
      pollLawyer();
    } else if (!open) {
      handoffOpen = false;
    }
  }

  async function pollLawyer() {
    while (handoffOpen) {
      try {
        const url = (lawyerAloud ? "/api/voice/updates" : "/api/chat/updates") +
          "?after=" + lastLawyerMessage;
        const response = await fetch(url);
        const updates = response.ok ? await response.json() : [];
        if (lawyerAloud) lawyerAloud.speak(updates.filter(function (u) { return u.speech; }));
        updates.forEach(function (update) {
          if (update.id) lastLawyerMessage = Math.max(lastLawyerMessage, update.id);
          if (update.custom && update.custom.handoff) followHandoff(update.custom.handoff.status);
          if (update.text) addMessage(update.speaker || "bot", update.text, [], 1);
        });
        if (!response.ok) await new Promise(function (r) { setTimeout(r, 5000); });
      } catch (error) {
        // The network dropped: try again a little later rather than give up.
        await new Promise(function (r) { setTimeout(r, 5000); });
      }
    }
  }

  // Every form that posts to /chat is sent through /api/chat instead: the text
  // box (where a bare number picks a choice) and the "再说一遍"/"说慢一点" buttons,
  // which go to the voice API when replies are read aloud, so that the speech
  // rate they ask for is the one the next spoken reply uses.
  function setUpForms() {
    document.querySelectorAll("form.chat-send").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        const pressed = event.submitter;
        if (pressed && pressed.name === "message") {
          (sayAloud || say)(pressed.value);
          return;
        }
        const text = input.value.trim();
        if (!text) return;
        input.value = "";
        const choice = choiceByNumber(text);
        if (choice) say(choice.payload, choice.title);
        else say(text);
      });
    });
  }

  // The microphone is offered only when the gateway says voice input works;
  // otherwise the page says so, and that typing works.
  async function setUpVoice() {
    let voice = { input: false };
    try {
      const response = await fetch("/api/voice/status");
      if (response.ok) voice = await response.json();
    } catch (e) { /* voice stays off */ }
    if (voice.input && window.MediaRecorder && navigator.mediaDevices) {
      const readAloud = voice.output ? setUpReadAloud() : null;
      setUpPushToTalk(voice.turn_url || "/api/voice/turn", readAloud);
      if (readAloud) sayAloud = setUpSpokenRequests("/api/voice/say", readAloud);
      lawyerAloud = readAloud;
      return;
    }
    // The gateway's reason, and always that typing works.
    const reason = (voice.reason_zh || "语音输入现在关着").replace(/[。.\s]+$/, "");
    const status = document.getElementById("voice-status");
    status.textContent = /打字/.test(reason) ? reason + "。" : reason + "，打字聊天照常可以用。";
    status.hidden = false;
  }

  // Replies to a spoken turn are read aloud, one after another, unless the
  // person turned it off (a toggle remembered like the display modes).
  function setUpReadAloud() {
    const toggle = document.getElementById("read-aloud");
    const player = new Audio();
    // Stopping ends the replies being read, not only the one playing now.
    let reading = 0;
    let on = remembered("fayuan-read-aloud") !== "off";
    const show = function () { toggle.setAttribute("aria-pressed", on ? "true" : "false"); };
    toggle.addEventListener("click", function () {
      on = !on;
      remember("fayuan-read-aloud", on ? "on" : "off");
      if (!on) player.pause();
      show();
    });
    show();
    toggle.hidden = false;
    function play(url) {
      return new Promise(function (resolve) {
        player.onended = resolve;
        player.onerror = resolve;
        player.onpause = resolve;
        player.src = url;
        player.play().catch(resolve);
      });
    }
    return {
      stop: function () { reading += 1; player.pause(); },
      // Sentence by sentence where the gateway offers it: the first plays while the rest is made.
      speak: async function (replies) {
        const these = ++reading;
        for (const reply of replies) {
          const parts = reply.speech_parts || (reply.speech ? [reply.speech] : []);
          for (const part of parts) {
            if (!on || these !== reading) return;
            await play(part);
          }
        }
      },
    };
  }

  // Push-to-talk: hold the button (or Space/Enter on it), speak, release to send.
  // Streamed where the browser can (a WebSocket to /api/voice/stream, PCM from an
  // AudioWorklet), else recorded and uploaded (POST /api/voice/turn). Both answer
  // {"transcript": "…", "replies": [as /api/chat, with their speech]}.
  function setUpPushToTalk(turnUrl, readAloud) {
    const talk = document.getElementById("talk");
    let holding = false;
    let recording = null;

    async function start() {
      if (holding) return;
      if (readAloud) readAloud.stop();
      holding = true;
      talk.setAttribute("aria-pressed", "true");
      pending.textContent = "正在听，说完松开。";
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (e) {
        release();
        addMessage("bot", MIC_REFUSED, [], 1);
        return;
      }
      if (!holding) { stopTracks(stream); return; }
      recording = await startRecording(stream);
      if (!holding) release(); // released while the recording was being set up
    }

    async function startRecording(stream) {
      if (canStream) {
        try {
          return await streamedRecording(stream, readAloud);
        } catch (e) { /* no worklet here: upload instead */ }
      }
      return uploadedRecording(stream, turnUrl, readAloud);
    }

    function release() {
      holding = false;
      talk.setAttribute("aria-pressed", "false");
      pending.textContent = "";
      if (recording) recording.finish();
      recording = null;
    }

    const isTalkKey = function (event) { return event.key === " " || event.key === "Enter"; };
    talk.addEventListener("pointerdown", start);
    talk.addEventListener("pointerup", release);
    talk.addEventListener("pointercancel", release);
    talk.addEventListener("blur", release);
    talk.addEventListener("keydown", function (event) {
      if (!isTalkKey(event)) return;
      event.preventDefault();
      if (!event.repeat) start();
    });
    talk.addEventListener("keyup", function (event) {
      if (isTalkKey(event)) { event.preventDefault(); release(); }
    });
    talk.hidden = false;
  }

  function stopTracks(stream) {
    stream.getTracks().forEach(function (t) { t.stop(); });
  }

  // The whole recording, uploaded once the button is released.
  function uploadedRecording(stream, turnUrl, readAloud) {
    const chunks = [];
    const recorder = new MediaRecorder(stream);
    recorder.ondataavailable = function (event) { chunks.push(event.data); };
    recorder.onstop = function () {
      stopTracks(stream);
      const recording = new Blob(chunks, { type: chunks.length ? chunks[0].type : "" });
      voiceTurn(readAloud, async function () {
        const response = await fetch(turnUrl, {
          method: "POST",
          headers: { "Content-Type": recording.type || "application/octet-stream" },
          body: recording,
        });
        const body = await response.json();
        if (!response.ok) throw new Error("voice turn failed: " + response.status);
        return body;
      });
    };
    recorder.start();
    return { finish: function () { if (recorder.state === "recording") recorder.stop(); } };
  }

  // The microphone streamed to the gateway while the person speaks: 16 kHz
  // samples from the worklet, sent as 16-bit PCM every 0.1 s, then "end".
  async function streamedRecording(stream, readAloud) {
    const context = new AudioContext({ sampleRate: STREAM_RATE });
    await context.audioWorklet.addModule("/static/pcm-recorder.js");
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, "pcm-recorder");
    const socket = new WebSocket(socketUrl(STREAM_URL + "?rate=" + STREAM_RATE));
    const waiting = []; // what was recorded before the socket opened
    const send = function (data) {
      if (socket.readyState === WebSocket.OPEN) socket.send(data);
      else if (socket.readyState === WebSocket.CONNECTING) waiting.push(data);
    };
    socket.onopen = function () { waiting.splice(0).forEach(function (d) { socket.send(d); }); };
    const answer = streamAnswer(socket);
    let frames = [];
    let count = 0;
    const flush = function () {
      if (count) send(pcm16(frames, count));
      frames = [];
      count = 0;
    };
    node.port.onmessage = function (event) {
      frames.push(event.data);
      count += event.data.length;
      if (count >= STREAM_CHUNK_SAMPLES) flush();
    };
    source.connect(node);
    node.connect(context.destination); // pulled by the graph; it outputs silence
    await context.resume();
    return {
      finish: function () {
        node.port.onmessage = null;
        source.disconnect();
        stopTracks(stream);
        flush();
        context.close();
        send(JSON.stringify({ type: "end" }));
        voiceTurn(readAloud, function () { return answer; });
      },
    };
  }

  // The gateway's answer on the socket; meanwhile, the words heard so far are shown.
  function streamAnswer(socket) {
    const answer = new Promise(function (resolve, reject) {
      socket.onmessage = function (event) {
        const message = JSON.parse(event.data);
        if (message.type === "partial") showHeardSoFar(message.text);
        if (message.type === "turn") resolve(message);
      };
      socket.onerror = function () { reject(new Error("voice stream failed")); };
      socket.onclose = function () { reject(new Error("voice stream closed")); };
    });
    answer.catch(function () { /* shown when the turn is awaited */ });
    return answer;
  }

  function pcm16(frames, count) {
    const pcm = new Int16Array(count);
    let at = 0;
    frames.forEach(function (frame) {
      for (let i = 0; i < frame.length; i++) {
        const sample = Math.max(-1, Math.min(1, frame[i]));
        pcm[at++] = sample < 0 ? sample * 0x8000 : sample * 0x7fff;
      }
    });
    return pcm.buffer;
  }

  function socketUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  // Shown while the person speaks, not announced (see index.html).
  function showHeardSoFar(text) {
    const shown = document.getElementById("heard-so-far");
    shown.textContent = text ? "听到：" + text : "";
    shown.hidden = !text;
  }

  // A spoken turn, after the ones before it: what was heard, then the replies, read aloud.
  function voiceTurn(readAloud, answered) {
    closeChoices();
    turns = turns.then(async function () {
      pending.textContent = "正在听写……";
      try {
        const body = await answered();
        if (body.transcript) addMessage("user", body.transcript, [], 1);
        showSpokenReplies(body.replies || [], readAloud);
      } catch (e) {
        addMessage("bot", VOICE_FAILED, [], 1);
      } finally {
        pending.textContent = "";
        showHeardSoFar("");
      }
    });
  }

  function showSpokenReplies(replies, readAloud) {
    showReplies(replies);
    if (readAloud) readAloud.speak(replies);
  }

  // A request pressed rather than said ("再说一遍", "说慢一点"), answered as a spoken
  // turn (bot/voice_chat.py, POST /api/voice/say): read aloud, at the rate asked for.
  function setUpSpokenRequests(sayUrl, readAloud) {
    return function (message) {
      readAloud.stop();
      closeChoices();
      addMessage("user", message, [], 1);
      turns = turns.then(async function () {
        pending.textContent = "助手正在回答……";
        try {
          const body = await post(sayUrl, { message: message }, function (b) { return Array.isArray(b.replies); });
          showSpokenReplies(body.replies, readAloud);
        } catch (error) {
          addMessage("bot", error.shownToPerson || NETWORK_ERROR, [], 1);
        } finally {
          pending.textContent = "";
        }
      });
    };
  }

  setUpDisplayModes();
  setUpForms();
  setUpVoice();
})();
