// The agent desk: a fold of the agent's inbox (the WebSocket, docs/agent-protocol.md) plus each assigned
// conversation's timeline from the context store (GET /v1/conversations/{id}), rendered with el() only.
import { api, duration, el, formatTime, loginForm, setToken, token, Unauthorized } from "../static/common.js";

const SEQ_KEY = "relais.seq";
const PRESENCE_KEY = "relais.presence";
const root = document.getElementById("app");

const state = {
  agent: null,
  dispositions: [],
  awayReasons: [], // the tenant's; the presence "away:<reason>" sends presence away with that reason
  presence: sessionStorage.getItem(PRESENCE_KEY) || "away",
  offers: new Map(), // offer id -> offer frame
  // conversation id -> {id, view, entries: Map(key -> entry), released, taken, clocks, outbox}; `taken`
  // is why the router gave it to another agent; `clocks`: clock name -> its warning or breach frame;
  // `outbox` is the reply
  // being sent: {text, channel, client_msg_id, ref, status: "sending" | "failed", error}, kept (and its
  // text in the box) until the gateway acknowledges it.
  conversations: new Map(),
  selected: null,
  status: null, // the router's own status for the agent (not-responding)
  connection: "connecting",
  notice: null,
};
const TAKEN = { silent: "no reply in time", offline: "you went offline", breach: "response target missed", supervisor: "moved by a supervisor" };
let socket = null;
let retry = 0;
let nextRef = 1;
const replyRefs = new Map(); // ref of a reply sent -> its conversation id

// -- the socket -----------------------------------------------------------------------------------

function connect() {
  if (!token()) return;
  // A reload resumes after the last seq seen; a fresh desk starts now, with its conversations from `ready`.
  const after = sessionStorage.getItem(SEQ_KEY);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = after ? `?${new URLSearchParams({ after })}` : "";
  // The token travels as a subprotocol, never in the URL (which proxies and logs keep).
  socket = new WebSocket(`${scheme}://${location.host}/v1/agent/ws${query}`, ["relais.agent", `bearer.${token()}`]);
  socket.onopen = () => { retry = 0; };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = (event) => {
    if (event.code === 4401) return logout("Your session ended: log in again.");
    if (event.code === 4400) sessionStorage.removeItem(SEQ_KEY);
    state.connection = "reconnecting";
    render();
    retry = Math.min(retry + 1, 5);
    setTimeout(connect, 500 * 2 ** retry); // backoff; resumes after the last seq seen
  };
}

// The ref the message went out with, or null when the socket is not open. A resend passes the
// client_msg_id of the first attempt, so the gateway makes it the same event.
function send(message, clientMsgId = crypto.randomUUID(), { quiet = false } = {}) {
  const ref = `r${nextRef++}`;
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    if (!quiet) {
      state.notice = "Not connected: try again in a moment.";
      render();
    }
    return null;
  }
  socket.send(JSON.stringify({ ...message, ref, client_msg_id: clientMsgId }));
  return ref;
}

// A reply leaves the box only once the gateway acknowledges it. Sent again unchanged (a retry), it keeps
// its client_msg_id; changed after a refusal (which published nothing), it is a new message.
function postReply(c, text, channel) {
  const same = c.outbox && c.outbox.text === text && c.outbox.channel === channel;
  c.outbox = { text, channel, client_msg_id: same ? c.outbox.client_msg_id : crypto.randomUUID(), status: "sending", error: null, ref: null };
  sendReply(c);
  render();
}

function sendReply(c) {
  const o = c.outbox;
  o.ref = send({ type: "reply", conversation_id: c.id, text: o.text, channel: o.channel }, o.client_msg_id, { quiet: true });
  if (o.ref) replyRefs.set(o.ref, c.id); // else sent by the next `ready`
}

function answered(message) {
  const id = replyRefs.get(message.ref);
  if (id === undefined) return;
  replyRefs.delete(message.ref);
  const c = conversation(id);
  if (!c?.outbox || c.outbox.ref !== message.ref) return; // an answer to an earlier attempt
  if (message.type === "ack") {
    c.outbox = null;
    const box = root.querySelector(`[data-keep="reply-${CSS.escape(id)}"]`);
    if (box) box.value = ""; // else render() would keep it as a draft
  } else {
    Object.assign(c.outbox, { status: "failed", error: `${message.code}: ${message.message}` });
  }
}

function receive(message) {
  if (message.seq) sessionStorage.setItem(SEQ_KEY, message.seq);
  switch (message.type) {
    case "ready":
      state.agent = message.agent;
      state.dispositions = message.dispositions;
      state.awayReasons = message.away_reasons || [];
      state.connection = "online";
      sendPresence();
      for (const id of message.conversations) openConversation(id);
      // Replies sent before the connection dropped, whose ack never came: again, as the same messages.
      for (const c of state.conversations.values()) if (c.outbox?.status === "sending") sendReply(c);
      break;
    case "offer":
      state.offers.set(message.offer_id, message);
      break;
    case "offer.rescinded":
      state.offers.delete(message.offer_id);
      break;
    case "assigned":
      state.offers.delete(message.offer_id);
      openConversation(message.conversation_id, true);
      break;
    case "message":
      addEntry(message.conversation_id, { kind: "message", ...message.message });
      break;
    case "note":
      addEntry(message.conversation_id, { kind: "note", ...message.note });
      break;
    case "whisper": // a supervisor's note to this agent only: never sent to the customer
      addEntry(message.conversation_id, { kind: "whisper", ...message.whisper });
      break;
    case "delivery": {
      const entry = conversation(message.conversation_id)?.entries.get(message.message_id);
      if (entry) entry.delivery = { status: message.status };
      break;
    }
    case "conversation.updated":
      addEntry(message.conversation_id, { kind: message.what, channel: message.channel, at: message.at, event_id: message.seq });
      break;
    case "released": {
      const c = conversation(message.conversation_id);
      if (c) c.released = message;
      break;
    }
    case "conversation.taken": {
      const c = conversation(message.conversation_id);
      if (c) c.taken = message;
      break;
    }
    case "clock": {
      const c = conversation(message.conversation_id);
      if (c && message.state === "stopped") delete c.clocks[message.clock];
      else if (c) c.clocks[message.clock] = message;
      break;
    }
    case "status":
      state.status = message.status === "available" ? null : message;
      break;
    case "ack":
      answered(message);
      break;
    case "error":
      state.notice = `${message.code}: ${message.message}`;
      answered(message);
      break;
  }
  render();
}

// -- conversations --------------------------------------------------------------------------------

function conversation(id) {
  return state.conversations.get(id);
}

function entryKey(entry) {
  return entry.message_id || entry.note_id || entry.whisper_id || entry.event_id || `${entry.kind}:${entry.at}`;
}

function addEntry(id, entry) {
  const c = conversation(id);
  if (!c) return; // replayed for a conversation already released and dismissed
  const key = entryKey(entry);
  c.entries.set(key, { ...c.entries.get(key), ...entry });
}

async function openConversation(id, select = false) {
  let c = conversation(id);
  if (!c) {
    c = { id, view: null, entries: new Map(), released: null, taken: null, clocks: {} };
    state.conversations.set(id, c);
  }
  c.released = null;
  c.taken = null;
  if (select || !state.selected) state.selected = id;
  render();
  try {
    c.view = await api(`/v1/conversations/${encodeURIComponent(id)}`);
    // The timeline first, then whatever arrived live meanwhile (same keys: the live copy is newer).
    const live = c.entries;
    c.entries = new Map(c.view.timeline.map((e) => [entryKey(e), e]));
    for (const [key, entry] of live) c.entries.set(key, { ...c.entries.get(key), ...entry });
  } catch (e) {
    if (e instanceof Unauthorized) return logout("Your session ended: log in again.");
    state.notice = `Could not load conversation ${id}: ${e.message}`;
  }
  render();
}

function dismiss(id) {
  state.conversations.delete(id);
  if (state.selected === id) state.selected = state.conversations.keys().next().value ?? null;
  render();
}

// -- rendering ------------------------------------------------------------------------------------

function render() {
  if (!token()) {
    root.replaceChildren(loginForm({ onToken: login }));
    return;
  }
  const focused = document.activeElement?.dataset?.keep; // keep typing in place across renders
  const drafts = Object.fromEntries([...root.querySelectorAll("[data-keep]")].map((n) => [n.dataset.keep, n.value]));
  root.replaceChildren(header(), el("div", { class: "desk" }, sidebar(), main()));
  for (const node of root.querySelectorAll("[data-keep]")) {
    // An empty draft is the default anyway, and a select emptied while its options loaded keeps its default.
    if (drafts[node.dataset.keep]) node.value = drafts[node.dataset.keep];
    if (node.dataset.keep === focused) node.focus();
  }
}

function sendPresence() {
  const [presence, reason] = state.presence.split(":");
  send({ type: "presence", presence, ...(reason ? { away_reason: reason } : {}) });
}

function header() {
  const choices = ["available", "away", ...state.awayReasons.map((r) => `away:${r}`), "offline"];
  const presence = el(
    "select",
    { "data-testid": "presence", onchange: (e) => { state.presence = e.target.value; sessionStorage.setItem(PRESENCE_KEY, state.presence); sendPresence(); } },
    choices.map((p) => el("option", { value: p, selected: p === state.presence }, p.replace(":", " — "))),
  );
  return el(
    "header",
    {},
    el("h1", {}, "Relais desk"),
    el("span", { class: `connection ${state.connection}`, "data-testid": "connection" }, state.connection),
    state.agent && el("span", { class: "who" }, `${state.agent.name} · ${state.agent.tenant}`),
    presence,
    state.status && el("span", { class: "flag", role: "status" }, `${state.status.status}: ${state.status.reason ?? ""}${state.status.by ? ` (set by ${state.status.by.name})` : ""} — set your presence again`),
    state.notice && el("span", { class: "error", role: "alert", "data-testid": "notice" }, state.notice, el("button", { onclick: () => { state.notice = null; render(); } }, "×")),
    el("button", { onclick: () => logout() }, "Log out"),
  );
}

function sidebar() {
  const offers = [...state.offers.values()];
  const conversations = [...state.conversations.values()];
  return el(
    "aside",
    {},
    el("h2", {}, `Offers (${offers.length})`),
    offers.map(offerCard),
    el("h2", {}, `Conversations (${conversations.length})`),
    el(
      "ul",
      { class: "conversations" },
      conversations.map((c) =>
        el(
          "li",
          { class: c.id === state.selected ? "selected" : "", "data-testid": "conversation-item" },
          el("button", { onclick: () => { state.selected = c.id; render(); } }, c.view?.customer_name || c.id, c.released ? ` (${c.released.reason})` : "", Object.keys(c.clocks || {}).length ? " ⏱" : ""),
        ),
      ),
    ),
  );
}

function offerCard(offer) {
  const p = offer.packet;
  const reason = el("input", { placeholder: "reason to decline", "data-keep": `reject-${offer.offer_id}` });
  return el(
    "article",
    { class: "offer", "data-testid": "offer" },
    el("h3", {}, `${p.queue} · ${offer.channel}`),
    el("p", { class: "countdown", "data-testid": "countdown", dataset: { expires: offer.expires_at ?? "" } }, countdown(offer.expires_at)),
    el("p", {}, el("strong", {}, "Why: "), p.reason, p.intent ? ` · ${p.intent}` : "", p.language ? ` · ${p.language}` : ""),
    el("p", { class: "summary" }, p.summary),
    flags(p),
    el("ol", { class: "preview" }, (p.transcript || []).slice(-3).map((m) => el("li", {}, `${m.author_kind}: `, m.text))),
    el("button", { class: "primary", "data-testid": "accept", onclick: () => send({ type: "accept", offer_id: offer.offer_id }) }, "Accept"),
    reason,
    el("button", { "data-testid": "reject", onclick: () => send({ type: "reject", offer_id: offer.offer_id, reason: reason.value || undefined }) }, "Decline"),
  );
}

function countdown(expiresAt) {
  if (!expiresAt) return "no deadline";
  const left = (new Date(expiresAt) - Date.now()) / 1000;
  return left > 0 ? `expires in ${duration(left)}` : "expired";
}

function flags(packet) {
  const sentiment = packet.sentiment || [];
  const trend = sentiment.length ? sentiment.map((s) => s.toFixed(1)).join(" → ") : null;
  return el(
    "div",
    { class: "flags", "data-testid": "flags" },
    trend && el("span", { class: sentiment.at(-1) < -0.3 ? "flag negative" : "flag", "data-testid": "sentiment" }, `sentiment ${trend}`),
    (packet.sensitivity || []).map((s) => el("span", { class: "flag sensitive", "data-testid": "sensitivity" }, s)),
    (packet.entities || []).map((e) => el("span", { class: "flag entity" }, `${e.kind}: ${e.value}`)),
  );
}

function main() {
  const c = conversation(state.selected);
  if (!c) return el("main", {}, el("p", { class: "empty" }, "Accept an offer to start."));
  const view = c.view;
  const packet = view?.handoff;
  const channels = view?.channels || [];
  return el(
    "main",
    { "data-testid": "conversation" },
    el("h2", {}, view?.customer_name || "Customer", " ", el("small", {}, c.id)),
    view && el("p", { "data-testid": "channels" }, "Channels: ", channels.join(", "), ` · last: ${view.last_channel}`),
    // Identities the customer gave without proof: never linked until someone checks and confirms them.
    (view?.claims || []).map((cl) => el("p", { class: "flag claim", "data-testid": "claim", title: `claim ${cl.id}` }, `Claims to be ${cl.masked} — unverified`, cl.known_customer ? " (the identity of another customer)" : "")),
    c.released && el("p", { class: "flag", "data-testid": "released" }, `No longer yours: ${c.released.reason}${c.released.disposition ? ` (${c.released.disposition})` : ""}`, c.taken ? ` — given to another agent (${TAKEN[c.taken.reason]}${c.taken.by ? `: ${c.taken.by.name}` : ""})` : "", el("button", { onclick: () => dismiss(c.id) }, "Close")),
    !c.released && Object.values(c.clocks || {}).map((k) => el("p", { class: k.state === "breached" ? "error" : "flag", role: "status", "data-testid": "clock" }, `${k.clock}: ${k.state === "breached" ? "target missed" : `answer before ${formatTime(k.due_at)}`}`)),
    packet && el(
      "section",
      { class: "handoff", "data-testid": "handoff" },
      el("h3", {}, "From the bot"),
      el("p", { "data-testid": "summary" }, packet.summary),
      el("p", {}, `reason: ${packet.reason}`, packet.intent ? ` · intent: ${packet.intent}` : "", packet.confidence != null ? ` (${Math.round(packet.confidence * 100)}%)` : "", packet.language ? ` · language: ${packet.language}` : ""),
      flags(packet),
      packet.bot_answers?.length ? el("p", {}, "Already answered: ", packet.bot_answers.join(", ")) : null,
    ),
    el("ol", { class: "timeline", "data-testid": "timeline" }, [...c.entries.values()].map(timelineEntry)),
    !c.released && actions(c, channels, view?.last_channel),
  );
}

function timelineEntry(e) {
  if (e.kind === "message") {
    return el(
      "li",
      { class: `message ${e.author_kind}`, "data-testid": "message" },
      el("span", { class: "meta" }, `${e.author_name || e.author_kind} · ${formatTime(e.at)}`, e.channel ? el("span", { class: "channel", "data-testid": "channel" }, e.channel) : null, e.delivery ? ` · ${e.delivery.status}` : ""),
      el("p", { class: "text", "data-testid": "text" }, e.text),
    );
  }
  if (e.kind === "note") {
    return el("li", { class: "note", "data-testid": "note" }, el("span", { class: "meta" }, `internal note · ${e.author_name} · ${formatTime(e.at)}`), el("p", { class: "text" }, e.text));
  }
  if (e.kind === "whisper") {
    return el("li", { class: "note whisper", "data-testid": "whisper" }, el("span", { class: "meta" }, `whisper from ${e.by.name} · only you see this · ${formatTime(e.at)}`), el("p", { class: "text", "data-testid": "whisper-text" }, e.text));
  }
  const detail = { handoff: e.reason, queued: e.queue, assigned: e.agent_name || e.agent_id, transferred: e.to_queue || e.to_agent_id, channel_switched: e.channel, channel: e.channel, wrapped_up: e.disposition, reassigned: e.reason && `${e.reason}, from ${e.from_agent_id}`, clock_breached: e.clock }[e.kind];
  return el("li", { class: "event" }, `${e.kind.replaceAll("_", " ")}${detail ? `: ${detail}` : ""} · ${formatTime(e.at)}`);
}

function actions(c, channels, lastChannel) {
  const outbox = c.outbox;
  const sending = outbox?.status === "sending";
  const reply = el("textarea", { rows: 3, placeholder: "Reply to the customer", "data-keep": `reply-${c.id}`, "data-testid": "reply-text", readonly: sending });
  if (outbox) reply.value = outbox.text; // what the agent typed stays until the gateway has it
  const pending = outbox && el(
    "p",
    { class: sending ? "pending" : "error", role: sending ? "status" : "alert", "data-testid": "reply-status" },
    sending ? (state.connection === "online" ? "Sending…" : "Not sent yet: it goes when the desk reconnects.") : `Not sent (${outbox.error}): change it or send again.`,
  );
  const channel = el("select", { "data-testid": "reply-channel", "data-keep": `channel-${c.id}` }, channels.map((ch) => el("option", { value: ch, selected: ch === lastChannel }, ch)));
  const note = el("textarea", { rows: 2, placeholder: "Internal note (never sent)", "data-keep": `note-${c.id}`, "data-testid": "note-text" });
  const target = el("input", { placeholder: "queue or agent id", "data-keep": `target-${c.id}`, "data-testid": "transfer-target" });
  const kind = el("select", { "data-keep": `kind-${c.id}`, "data-testid": "transfer-kind" }, el("option", { value: "to_queue" }, "to queue"), el("option", { value: "to_agent_id" }, "to agent"));
  const disposition = el("select", { "data-testid": "disposition", "data-keep": `disposition-${c.id}` }, state.dispositions.map((d) => el("option", { value: d }, d)));
  const clear = (...nodes) => { for (const n of nodes) n.value = ""; };
  return el(
    "section",
    { class: "actions" },
    el("form", { onsubmit: (e) => { e.preventDefault(); if (sending || !reply.value.trim()) return; postReply(c, reply.value, channel.value !== lastChannel ? channel.value : undefined); } },
      reply, pending, el("div", {}, "via ", channel, el("button", { class: "primary", type: "submit", "data-testid": "send-reply", disabled: sending }, sending ? "Sending…" : "Send"))),
    el("form", { onsubmit: (e) => { e.preventDefault(); if (!note.value.trim()) return; send({ type: "note", conversation_id: c.id, text: note.value }); clear(note); } },
      note, el("button", { type: "submit", "data-testid": "add-note" }, "Add note")),
    el("form", { onsubmit: (e) => { e.preventDefault(); if (!target.value.trim()) return; send({ type: "transfer", conversation_id: c.id, [kind.value]: target.value.trim(), note: note.value || undefined }); clear(target, note); } },
      "Transfer ", kind, target, el("button", { type: "submit", "data-testid": "transfer" }, "Transfer")),
    el("div", {},
      el("button", { "data-testid": "return-to-bot", onclick: () => { send({ type: "return_to_bot", conversation_id: c.id, note: note.value || undefined }); clear(note); } }, "Return to bot"),
      " Wrap up as ", disposition,
      el("button", { "data-testid": "wrap-up", onclick: () => send({ type: "wrap_up", conversation_id: c.id, disposition: disposition.value }) }, "Wrap up")),
  );
}

// Countdowns tick without re-rendering the whole desk (that would reset what the agent is typing).
setInterval(() => {
  for (const node of root.querySelectorAll("[data-testid=countdown]")) node.textContent = countdown(node.dataset.expires || null);
}, 1000);

// -- session --------------------------------------------------------------------------------------

function login(newToken) {
  setToken(newToken);
  sessionStorage.removeItem(SEQ_KEY);
  render();
  connect();
}

function logout(notice) {
  setToken(null);
  sessionStorage.removeItem(SEQ_KEY);
  if (socket) { socket.onclose = null; socket.close(); }
  Object.assign(state, { agent: null, offers: new Map(), conversations: new Map(), selected: null, notice: notice ?? null });
  render();
  if (notice) root.prepend(el("p", { class: "error", role: "alert" }, notice));
}

render();
if (token()) connect();
