// The staff console: the queue, a ticket with its transcript, and the supervisor's report.
// Everything comes from the staff JSON API (/api/v1/staff); changes carry the session's
// CSRF token; a server-sent event stream brings new messages, ticket changes and
// escalations as they happen, and the queue is also re-read every few seconds. Every text
// from the API is inserted with textContent, never as HTML.
"use strict";

(function () {
  const API = "/api/v1/staff";
  const QUEUE_REFRESH_MS = 5000;
  const PRIORITY = { urgent: "Khẩn cấp", high: "Cao", normal: "Bình thường" };
  const RISK = { high: "nguy cơ cao", elevated: "cần chú ý", none: "" };
  const STATUS = { open: "đang chờ", assigned: "đã có người nhận", resolved: "đã xử lý", closed: "đã đóng" };
  const FROM = { person: "Người dùng", bot: "Trợ lý tự động", staff: "Nhân viên" };
  const CHANNEL = { web: "Web", telegram: "Telegram", zalo: "Zalo OA", zalo_bot: "Zalo Bot", api: "API" };
  const ACTION = {
    "ticket.opened": "Mở yêu cầu", "ticket.claimed": "Nhận yêu cầu", "ticket.transferred": "Chuyển yêu cầu",
    "ticket.resolved": "Đã xử lý", "ticket.closed": "Đóng", "ticket.escalated": "Báo động: chưa ai nhận",
    "ticket.priority_raised": "Nâng mức ưu tiên", "ticket.updated": "Cập nhật", "ticket.note_added": "Thêm ghi chú",
    "ticket.callback_phone_set": "Để lại số gọi lại", "conversation.handoff_state": "Chuyển trạng thái hội thoại",
  };

  const $ = (id) => document.getElementById(id);
  const state = { me: null, topics: {}, outcomes: {}, members: [], canned: [], current: null, shown: new Set(), timer: null, events: null };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function minutes(seconds) {
    if (seconds < 60) return `${seconds} giây`;
    const m = Math.floor(seconds / 60);
    return m < 60 ? `${m} phút` : `${Math.floor(m / 60)} giờ ${m % 60} phút`;
  }

  function time(iso) {
    return new Date(iso).toLocaleString("vi-VN", { hour: "2-digit", minute: "2-digit", day: "2-digit", month: "2-digit" });
  }

  function topic(code) { return state.topics[code] || code; }

  function showAlert(text) {
    const alert = $("alert");
    alert.textContent = text;
    alert.hidden = !text;
  }

  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && state.me) headers["X-CSRF-Token"] = state.me.csrf_token;
    const response = await fetch(API + path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401 && path !== "/login") {
      showLogin();
      throw new Error("Phiên đăng nhập đã hết hạn.");
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const detail = data && data.detail;
      throw new Error(typeof detail === "string" ? detail : "Thao tác không thành công, bạn thử lại nhé.");
    }
    return data;
  }

  // --- logging in and out -----------------------------------------------------------

  function showLogin() {
    state.me = null;
    if (state.events) state.events.close();
    clearInterval(state.timer);
    $("desk-view").hidden = true;
    $("login-view").hidden = false;
    $("username").focus();
  }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("login-error");
    error.hidden = true;
    $("login-button").disabled = true;
    try {
      await call("POST", "/login", { username: $("username").value, password: $("password").value });
      $("password").value = "";
      await start();
    } catch (problem) {
      error.textContent = problem.message;
      error.hidden = false;
    } finally {
      $("login-button").disabled = false;
    }
  });

  $("logout").addEventListener("click", async () => {
    try { await call("POST", "/logout"); } catch (problem) { /* already logged out */ }
    showLogin();
  });

  // --- the queue --------------------------------------------------------------------

  function queueItem(entry) {
    const item = el("li", `queue__item queue__item--${entry.priority}`);
    if (state.current && state.current.code === entry.code) item.classList.add("queue__item--current");
    const button = el("button", "queue__open");
    button.type = "button";
    button.dataset.code = entry.code;
    const head = el("span", "queue__line");
    head.append(el("strong", "", entry.code), el("span", `badge badge--${entry.priority}`, PRIORITY[entry.priority]));
    if (RISK[entry.risk]) head.append(el("span", `badge badge--risk-${entry.risk}`, RISK[entry.risk]));
    if (entry.escalated && entry.status === "open") head.append(el("span", "badge badge--escalated", "quá hạn nhận"));
    button.append(head);
    const place = entry.commune || entry.province || entry.location_text || "chưa rõ nơi ở";
    button.append(el("span", "queue__line queue__topic", `${topic(entry.topic)} · ${place} · ${CHANNEL[entry.channel] || entry.channel}`));
    const waiting = entry.status === "open" ? `chờ ${minutes(entry.waiting_seconds)}` : `${entry.assignee} · chờ trả lời ${minutes(entry.waiting_seconds)}`;
    button.append(el("span", "queue__line queue__waiting", `${STATUS[entry.status]} · ${waiting}`));
    const last = el("span", "queue__last");
    for (const line of entry.last_messages) last.append(el("span", `queue__msg queue__msg--${line.from}`, `${FROM[line.from]}: ${line.text}`));
    button.append(last);
    button.addEventListener("click", () => openTicket(entry.code));
    item.append(button);
    return item;
  }

  async function refreshQueue() {
    try {
      const entries = await call("GET", `/queue${$("mine").checked ? "?mine=true" : ""}`);
      const list = $("queue");
      list.replaceChildren(...entries.map(queueItem));
      $("queue-count").textContent = `(${entries.length})`;
      $("queue-empty").hidden = entries.length > 0;
      // Escalations that happened before this page was open are shown too.
      const overdue = entries.filter((entry) => entry.escalated && entry.status === "open").map((entry) => entry.code);
      if (overdue.length && !$("alert").textContent) {
        showAlert(`Báo động: ${overdue.length} yêu cầu khẩn cấp quá hạn mà chưa có ai nhận: ${overdue.join(", ")}.`);
      }
    } catch (problem) {
      showAlert(problem.message);
    }
  }
  $("mine").addEventListener("change", refreshQueue);

  // --- one ticket -------------------------------------------------------------------

  function transcriptLine(line) {
    const item = el("li", `line line--${line.from}`);
    item.dataset.id = line.id;
    const who = line.from === "staff" && line.staff ? `${FROM.staff} ${line.staff}` : FROM[line.from];
    item.append(el("span", "line__who", `${who} · ${time(line.at)}`), el("span", "line__text", line.text));
    if (line.delivery_status === "failed") item.append(el("span", "line__failed", "chưa gửi được"));
    return item;
  }

  function addLine(line) {
    if (state.shown.has(line.id)) return;
    state.shown.add(line.id);
    const log = $("transcript");
    log.append(transcriptLine(line));
    log.scrollTop = log.scrollHeight;
  }

  function renderTicket(ticket) {
    state.current = ticket;
    state.shown = new Set();
    $("ticket").hidden = false;
    $("ticket-title").textContent = `${ticket.code} · ${topic(ticket.topic)}`;
    const place = [ticket.commune, ticket.province].filter(Boolean).join(", ") || ticket.location_text || "chưa rõ nơi ở";
    const meta = [PRIORITY[ticket.priority], RISK[ticket.risk], STATUS[ticket.status], place, CHANNEL[ticket.channel] || ticket.channel];
    if (ticket.assignee) meta.push(`phụ trách: ${ticket.assignee}`);
    if (ticket.callback_phone) meta.push(`gọi lại: ${ticket.callback_phone}`);
    $("ticket-meta").textContent = meta.filter(Boolean).join(" · ");
    const mine = ticket.assignee === state.me.username;
    const supervisor = state.me.role !== "staff";
    const active = ticket.status === "open" || ticket.status === "assigned";
    $("claim").hidden = ticket.status !== "open";
    $("transfer-box").hidden = !active || !(mine || supervisor);
    $("resolve-box").hidden = ticket.status !== "assigned" || !(mine || supervisor);
    $("reply-form").hidden = ticket.status !== "assigned" || !(mine || supervisor);
    $("transcript").replaceChildren();
    ticket.messages.forEach(addLine);
    $("services").replaceChildren(...ticket.services.map((service) => {
      const item = el("li", "service");
      item.append(el("strong", "", service.name));
      for (const phone of service.phones) {
        const link = el("a", "", phone.number);
        link.href = `tel:${phone.number.replace(/\s/g, "")}`;
        item.append(" ", link);
      }
      if (service.address) item.append(el("span", "service__line", service.address));
      if (service.hours) item.append(el("span", "service__line", service.hours));
      return item;
    }));
    if (!ticket.services.length) $("services").append(el("li", "empty", "Chưa tìm được dịch vụ cho chủ đề và nơi ở này."));
    $("notes").replaceChildren(...ticket.notes.map((note) => {
      const item = el("li", "note");
      item.append(el("span", "note__who", `${note.author} · ${time(note.at)}`), el("span", "", note.text));
      return item;
    }));
    $("history").replaceChildren(...ticket.history.map((event) => el("li", "", `${time(event.at)} · ${event.actor} · ${ACTION[event.action] || event.action}`)));
    document.querySelectorAll(".queue__item").forEach((item) => {
      item.classList.toggle("queue__item--current", item.querySelector("button").dataset.code === ticket.code);
    });
  }

  async function openTicket(code) {
    try {
      renderTicket(await call("GET", `/tickets/${encodeURIComponent(code)}`));
      showAlert("");
    } catch (problem) {
      showAlert(problem.message);
    }
  }

  async function act(path, body) {
    const code = state.current.code;
    try {
      await call("POST", `/tickets/${encodeURIComponent(code)}${path}`, body);
      showAlert("");
      await Promise.all([openTicket(code), refreshQueue()]);
      return true;
    } catch (problem) {
      showAlert(problem.message);
      return false;
    }
  }

  $("claim").addEventListener("click", () => act("/claim"));
  $("transfer").addEventListener("click", () => act("/transfer", { to: $("transfer-to").value }));
  $("resolve").addEventListener("click", () => act("/resolve", { outcome: $("outcome").value }));
  $("reply-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("reply-text").value.trim();
    if (!text) return;
    $("reply-send").disabled = true;
    try {
      const line = await call("POST", `/tickets/${encodeURIComponent(state.current.code)}/messages`, { text });
      addLine(line);
      $("reply-text").value = "";
      showAlert("");
    } catch (problem) {
      showAlert(problem.message);
    } finally {
      $("reply-send").disabled = false;
    }
  });
  $("note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await act("/notes", { text: $("note-text").value })) $("note-text").value = "";
  });
  $("canned").addEventListener("change", () => {
    const chosen = state.canned.find((reply) => String(reply.id) === $("canned").value);
    if (chosen) $("reply-text").value = chosen.text;
    $("canned").value = "";
    $("reply-text").focus();
  });

  // --- live events ------------------------------------------------------------------

  function listen() {
    if (state.events) state.events.close();
    const events = new EventSource(`${API}/events`);
    events.addEventListener("open", () => { document.body.dataset.live = "on"; });
    events.addEventListener("error", () => { document.body.dataset.live = "off"; });
    events.addEventListener("message", (event) => {
      const line = JSON.parse(event.data);
      if (state.current && line.code === state.current.code) addLine(line);
      scheduleQueue();
    });
    events.addEventListener("ticket", (event) => {
      const change = JSON.parse(event.data);
      scheduleQueue();
      if (state.current && change.code === state.current.code && change.by !== state.me.username) openTicket(change.code);
    });
    events.addEventListener("escalation", (event) => {
      const escalation = JSON.parse(event.data);
      showAlert(`Báo động: yêu cầu khẩn cấp ${escalation.code} (${topic(escalation.topic)}) đã chờ ${minutes(escalation.waited_seconds)} mà chưa có ai nhận.`);
      scheduleQueue();
    });
    state.events = events;
  }

  let queueSoon = null;
  function scheduleQueue() {
    clearTimeout(queueSoon);
    queueSoon = setTimeout(refreshQueue, 300);
  }

  // --- the supervisor's report and canned replies -----------------------------------

  function table(title, rows, columns) {
    const section = el("section", "figures");
    section.append(el("h3", "", title));
    const grid = el("table");
    const head = el("tr");
    columns.forEach(([label]) => head.append(el("th", "", label)));
    grid.append(head);
    rows.forEach((row) => {
      const line = el("tr");
      columns.forEach(([, value]) => line.append(el("td", "", value(row))));
      grid.append(line);
    });
    section.append(grid);
    return section;
  }

  function percent(share) { return share === null || share === undefined ? "—" : `${Math.round(share * 100)}%`; }

  function renderReport(report) {
    const parts = [];
    const summary = el("dl", "summary");
    const facts = [
      ["Giai đoạn", `${report.first_day} → ${report.last_day} (${report.days} ngày)`],
      ["Người có yêu cầu", report.people_with_tickets],
      ["Người được hỗ trợ", report.people_helped],
      ["Người được tham vấn hoặc kết nối dịch vụ", `${report.people_counselled} (${percent(report.share_counselled)})`],
      ["Trẻ em có hoàn cảnh đặc biệt được hỗ trợ", report.children_supported],
      ["Đang chờ nhận / đang xử lý", `${report.queue.open} / ${report.queue.assigned}`],
      ["Thời gian chờ trung bình / lâu nhất", `${minutes(report.queue.mean_waiting_seconds)} / ${minutes(report.queue.max_waiting_seconds)}`],
    ];
    for (const [label, value] of facts) summary.append(el("dt", "", label), el("dd", "", value));
    parts.push(summary);
    const queueColumns = (label, name) => [
      [label, name],
      ["Đang chờ", (row) => row.open], ["Đang xử lý", (row) => row.assigned],
      ["Chờ TB", (row) => minutes(row.mean_waiting_seconds)], ["Chờ lâu nhất", (row) => minutes(row.max_waiting_seconds)],
    ];
    parts.push(table("Hàng đợi theo mức nguy cơ", report.queue.by_risk, queueColumns("Nguy cơ", (row) => RISK[row.group] || "bình thường")));
    parts.push(table("Hàng đợi theo chủ đề", report.queue.by_topic, queueColumns("Chủ đề", (row) => topic(row.group))));
    parts.push(table("Xử lý trong thời hạn nhận", report.handled_within_target, [
      ["Mức ưu tiên", (row) => PRIORITY[row.priority]], ["Thời hạn", (row) => minutes(row.target_seconds)],
      ["Số yêu cầu", (row) => row.tickets], ["Trong hạn", (row) => row.within_target], ["Tỷ lệ", (row) => percent(row.share)],
    ]));
    parts.push(table("Người được hỗ trợ theo chủ đề", report.people_helped_by_topic, [
      ["Chủ đề", (row) => topic(row.topic)], ["Số người", (row) => row.people],
    ]));
    parts.push(table("Người được hỗ trợ theo tỉnh, thành", report.people_helped_by_province, [
      ["Tỉnh, thành", (row) => row.province || "chưa rõ"], ["Số người", (row) => row.people],
    ]));
    parts.push(table("Yêu cầu mỗi ngày", report.tickets_per_day, [
      ["Ngày", (row) => row.date], ["Số yêu cầu", (row) => row.tickets],
    ]));
    return parts;
  }

  async function showReport() {
    const box = $("report");
    try {
      box.replaceChildren(...renderReport(await call("GET", "/report")));
    } catch (problem) {
      box.replaceChildren(el("p", "error", problem.message));
    }
    renderCannedAdmin();
  }

  async function loadCanned() {
    state.canned = await call("GET", "/canned-replies");
    $("canned").replaceChildren(el("option", "", "Chèn câu trả lời mẫu…"), ...state.canned.map((reply) => {
      const option = el("option", "", reply.title);
      option.value = reply.id;
      return option;
    }));
    $("canned").firstChild.value = "";
  }

  async function renderCannedAdmin() {
    const replies = await call("GET", "/canned-replies?include_inactive=true");
    $("canned-admin").replaceChildren(...replies.map((reply) => {
      const item = el("li", reply.active ? "" : "retired");
      const title = el("input");
      title.value = reply.title;
      title.setAttribute("aria-label", "Tiêu đề");
      const text = el("textarea");
      text.value = reply.text;
      text.rows = 2;
      text.setAttribute("aria-label", "Nội dung");
      const save = el("button", "", "Lưu");
      save.type = "button";
      save.addEventListener("click", () => updateCanned(reply.id, { title: title.value, text: text.value }));
      const toggle = el("button", "", reply.active ? "Ngừng dùng" : "Dùng lại");
      toggle.type = "button";
      toggle.addEventListener("click", () => updateCanned(reply.id, { active: !reply.active }));
      item.append(title, text, save, toggle);
      return item;
    }));
  }

  async function updateCanned(id, change) {
    try {
      await call("PATCH", `/canned-replies/${id}`, change);
      showAlert("");
      await Promise.all([renderCannedAdmin(), loadCanned()]);
    } catch (problem) {
      showAlert(problem.message);
    }
  }

  $("canned-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await call("POST", "/canned-replies", { title: $("canned-title").value, text: $("canned-text").value });
      $("canned-title").value = "";
      $("canned-text").value = "";
      await Promise.all([renderCannedAdmin(), loadCanned()]);
    } catch (problem) {
      showAlert(problem.message);
    }
  });

  document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => {
    document.querySelectorAll(".tab").forEach((other) => other.classList.toggle("tab--active", other === tab));
    const report = tab.dataset.view === "report";
    $("queue-view").hidden = report;
    $("report-view").hidden = !report;
    if (report) showReport();
  }));

  // --- start ------------------------------------------------------------------------

  async function start() {
    state.me = await call("GET", "/me");
    $("login-view").hidden = true;
    $("desk-view").hidden = false;
    $("who").textContent = `${state.me.display_name} (${state.me.role})`;
    $("report-tab").hidden = state.me.role === "staff";
    const [topics, outcomes, members] = await Promise.all([call("GET", "/topics"), call("GET", "/outcomes"), call("GET", "/members")]);
    state.topics = topics;
    $("outcome").replaceChildren(...Object.entries(outcomes).map(([code, label]) => {
      const option = el("option", "", label);
      option.value = code;
      return option;
    }));
    $("transfer-to").replaceChildren(...members.filter((m) => m.username !== state.me.username).map((member) => {
      const option = el("option", "", `${member.display_name} (${member.username})`);
      option.value = member.username;
      return option;
    }));
    await Promise.all([loadCanned(), refreshQueue()]);
    listen();
    clearInterval(state.timer);
    state.timer = setInterval(refreshQueue, QUEUE_REFRESH_MS);
  }

  start().catch(() => showLogin());
})();
