// The web chat's behaviour. The conversation id lives in localStorage, so a reload (or
// coming back tomorrow) shows the same conversation; a server-sent event stream brings
// messages that arrive later (a staff member's reply). Everything the person or the
// assistant wrote is inserted as text, never as HTML.
"use strict";

(function () {
  const STORAGE_KEY = "hotline.webchat.client_id";
  const API = "/api/v1/web";
  const WHO = { staff: "Nhân viên công tác xã hội" };
  const MESSAGES = {
    sending: "Trợ lý đang trả lời…",
    offline: "Không gửi được tin nhắn. Bạn kiểm tra kết nối mạng rồi gửi lại nhé.",
    busy: "Hệ thống đang bận. Bạn gửi lại sau ít phút nhé.",
  };
  // Vietnamese phone numbers as people write them: 0912 345 678, +84 912 345 678,
  // 1900 969 680, 1800 1567, and the short emergency numbers 111-115.
  const PHONE = /(?<![\d+])(?:(?:\+84[\s.]?|0)\d{2,3}(?:[\s.-]?\d{3,4}){2}|1[89]00[\s.]?\d{3,4}(?:[\s.]?\d{2,3})?|11[1-5])(?![\d])/g;

  const log = document.getElementById("log");
  const form = document.getElementById("form");
  const input = document.getElementById("input");
  const send = document.getElementById("send");
  const statusLine = document.getElementById("status");
  const rendered = new Set();
  let lastId = 0;
  let events = null;

  function newClientId() {
    const bytes = new Uint8Array(18);
    crypto.getRandomValues(bytes); // works on plain http too, unlike crypto.randomUUID
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function clientId() {
    let id = localStorage.getItem(STORAGE_KEY);
    if (!id || !/^[A-Za-z0-9_-]{20,64}$/.test(id)) {
      id = newClientId();
      localStorage.setItem(STORAGE_KEY, id);
    }
    return id;
  }

  // Text with phone numbers turned into tel: links, as DOM nodes.
  function withPhoneLinks(text) {
    const fragment = document.createDocumentFragment();
    let at = 0;
    for (const match of text.matchAll(PHONE)) {
      fragment.append(text.slice(at, match.index));
      const link = document.createElement("a");
      link.href = "tel:" + match[0].replace(/[^\d+]/g, "");
      link.textContent = match[0];
      fragment.append(link);
      at = match.index + match[0].length;
    }
    fragment.append(text.slice(at));
    return fragment;
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function addBubble(author, text, id) {
    if (id != null) {
      if (rendered.has(id)) return null;
      rendered.add(id);
      lastId = Math.max(lastId, id);
    }
    const item = document.createElement("li");
    item.className = "bubble bubble--" + author;
    if (id != null) item.dataset.id = String(id);
    if (WHO[author]) {
      const who = document.createElement("span");
      who.className = "bubble__who";
      who.textContent = WHO[author];
      item.append(who);
    }
    item.append(withPhoneLinks(text));
    log.append(item);
    scrollDown();
    return item;
  }

  function addChoices(buttons) {
    if (!buttons || !buttons.length) return;
    const group = document.createElement("li");
    group.className = "choices";
    for (const button of buttons) {
      const choice = document.createElement("button");
      choice.type = "button";
      choice.textContent = button.title;
      choice.addEventListener("click", () => {
        for (const other of group.querySelectorAll("button")) other.disabled = true;
        submit(button.title, button.payload);
      });
      group.append(choice);
    }
    log.append(group);
    scrollDown();
  }

  function addMessage(message) {
    const item = addBubble(message.from, message.text, message.id);
    if (item) addChoices(message.buttons);
  }

  function showStatus(text, isError) {
    statusLine.hidden = !text;
    statusLine.textContent = text || "";
    statusLine.classList.toggle("chat__status--error", Boolean(isError));
  }

  async function loadHistory() {
    const response = await fetch(`${API}/conversations/${clientId()}/messages?after=${lastId}`);
    if (!response.ok) return;
    const body = await response.json();
    for (const message of body.messages) addMessage(message);
  }

  function listen() {
    if (events) events.close();
    events = new EventSource(`${API}/conversations/${clientId()}/events`);
    // After a reconnect, fetch what was said while the stream was down.
    events.addEventListener("open", () => loadHistory().catch(() => {}));
    events.addEventListener("message", (event) => addMessage(JSON.parse(event.data)));
  }

  async function submit(text, payload) {
    text = text.trim();
    if (!text) return;
    const pending = addBubble("person", text, null);
    pending.classList.add("bubble--pending");
    send.disabled = true;
    showStatus(MESSAGES.sending, false);
    try {
      const response = await fetch(`${API}/messages`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload ? { client_id: clientId(), text, payload } : { client_id: clientId(), text }),
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        const detail = typeof body.detail === "string" ? body.detail : MESSAGES.busy;
        pending.remove();
        if (!payload) input.value = text; // nothing was sent: give the words back
        showStatus(detail, true);
        return;
      }
      const body = await response.json();
      pending.classList.remove("bubble--pending");
      if (body.message_id != null) {
        pending.dataset.id = String(body.message_id);
        rendered.add(body.message_id);
        lastId = Math.max(lastId, body.message_id);
      }
      for (const reply of body.replies) addMessage(reply);
      showStatus("", false);
    } catch (error) {
      pending.remove();
      if (!payload) input.value = text;
      showStatus(MESSAGES.offline, true);
    } finally {
      send.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    input.value = "";
    submit(text, null);
    input.focus();
  });

  input.addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter starts a new line.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  document.getElementById("new-conversation").addEventListener("click", () => {
    localStorage.removeItem(STORAGE_KEY);
    rendered.clear();
    lastId = 0;
    log.replaceChildren();
    start();
  });

  function start() {
    loadHistory()
      .catch(() => {})
      .finally(() => {
        if (!log.children.length) addBubble("bot", document.getElementById("welcome").content.textContent.trim(), null);
        listen();
      });
  }

  start();
})();
