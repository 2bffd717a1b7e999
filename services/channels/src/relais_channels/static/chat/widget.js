// The Relais web chat widget: a plain ES module, no build step, no dependency.
//
//   <div data-relais-chat data-integrator="demo-dev"></div>
//   <script type="module" src="https://relais.example/chat/widget.js"></script>
//
// Optional on the element: data-name (the visitor's name) and data-identity (the JSON the tenant's
// backend signed: {"email"|"phone"|"customer_ref", "signed_at", "signature"}), passed on unchanged.
// Every text is drawn with textContent, never as HTML. Protocol: services/channels/docs/channels.md.

const base = new URL(".", import.meta.url);
const socketURL = `${base.protocol === "https:" ? "wss" : "ws"}://${base.host}${base.pathname}ws`;
const MAX_BACKOFF_MS = 30_000;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function ensureStyles() {
  const href = new URL("widget.css", base).href;
  if ([...document.querySelectorAll("link[rel=stylesheet]")].some((l) => l.href === href)) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = href;
  document.head.append(link);
}

function parseIdentity(raw) {
  if (!raw) return null;
  try {
    return JSON.parse(raw);
  } catch {
    console.warn("relais chat: data-identity is not JSON; sending no identity");
    return null;
  }
}

function newId() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

class Chat {
  constructor(host) {
    this.integrator = host.dataset.integrator;
    this.name = host.dataset.name || null;
    this.identity = parseIdentity(host.dataset.identity);
    this.storageKey = `relais-chat:${this.integrator}`;
    this.after = null; // the last entry drawn: a reconnect reads from there, a reload from the start
    this.pending = new Map(); // client_id -> text, sent but not acknowledged yet (sent again on reconnect)
    this.backoff = 1000;
    this.stopped = false;
    this.draw(host);
    this.connect();
  }

  draw(host) {
    this.root = element("section", "relais-chat");
    this.root.setAttribute("aria-label", "Chat");
    const header = element("header");
    header.append(element("strong", "", "Chat with us"));
    this.person = element("span", "person", "");
    this.person.dataset.testid = "person";
    header.append(this.person);
    this.log = element("ol", "log");
    this.log.dataset.testid = "log";
    this.log.setAttribute("aria-live", "polite");
    this.quick = element("div", "quick");
    this.quick.dataset.testid = "quick-replies";
    const form = element("form");
    this.input = element("input");
    this.input.type = "text";
    this.input.placeholder = "Write a message";
    this.input.setAttribute("aria-label", "Message");
    this.input.dataset.testid = "input";
    const send = element("button", "", "Send");
    send.type = "submit";
    send.dataset.testid = "send";
    form.append(this.input, send);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value;
      if (text.trim() && this.send(text)) this.input.value = "";
    });
    this.status = element("div", "status", "connecting…");
    this.status.dataset.testid = "status";
    this.root.append(header, this.log, this.quick, form, this.status);
    host.append(this.root);
  }

  connect() {
    const params = new URLSearchParams({ integrator: this.integrator });
    const token = localStorage.getItem(this.storageKey);
    if (token) params.set("token", token);
    if (this.after) params.set("after", this.after);
    const socket = new WebSocket(`${socketURL}?${params}`);
    this.socket = socket;
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      if (this.socket !== socket || this.stopped) return;
      this.setStatus("reconnecting…", false);
      const delay = this.backoff * (0.5 + Math.random() / 2);
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
      setTimeout(() => this.connect(), delay);
    });
  }

  receive(frame) {
    switch (frame.type) {
      case "welcome":
        localStorage.setItem(this.storageKey, frame.token);
        this.backoff = 1000;
        this.setStatus("online", true);
        for (const [clientId, text] of this.pending) this.transmit(clientId, text);
        break;
      case "entry":
        this.after = frame.seq;
        this.drawEntry(frame);
        break;
      case "ack":
        this.pending.delete(frame.client_id);
        break;
      case "error":
        this.refused(frame);
        break;
    }
  }

  send(text) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
      this.setStatus("not connected: your message is kept, try again in a moment", false);
      return false;
    }
    const clientId = newId();
    this.pending.set(clientId, text);
    this.transmit(clientId, text);
    return true;
  }

  transmit(clientId, text) {
    const frame = { type: "message", client_id: clientId, text };
    if (this.name) frame.name = this.name;
    if (this.identity) frame.identity = this.identity;
    this.socket.send(JSON.stringify(frame));
  }

  refused(frame) {
    const text = frame.client_id ? this.pending.get(frame.client_id) : undefined;
    if (frame.client_id) this.pending.delete(frame.client_id);
    if (text !== undefined && !this.input.value) this.input.value = text; // nothing typed is lost
    this.setStatus(frame.detail || frame.code, false);
    if (frame.code === "forbidden") this.stopped = true;
  }

  drawEntry(entry) {
    this.quick.replaceChildren();
    if (entry.kind === "person") {
      const who = entry.name || "An agent";
      this.person.textContent = entry.joined ? `You are talking with ${who}` : "";
      const text = entry.joined ? `${who} joined the conversation` : "The agent left the conversation";
      const line = element("li", "notice", text);
      line.dataset.testid = "notice";
      this.log.append(line);
    } else {
      const line = element("li", entry.from);
      line.dataset.testid = `message-${entry.from}`;
      if (entry.from !== "visitor" && entry.name) line.append(element("span", "author", entry.name));
      line.append(element("span", "bubble", entry.text));
      this.log.append(line);
      for (const reply of entry.quick_replies || []) {
        const button = element("button", "", reply.title);
        button.type = "button";
        button.addEventListener("click", () => this.send(reply.payload));
        this.quick.append(button);
      }
    }
    this.log.scrollTop = this.log.scrollHeight;
  }

  setStatus(text, online) {
    this.status.textContent = text;
    this.status.classList.toggle("online", online);
  }
}

ensureStyles();
for (const host of document.querySelectorAll("[data-relais-chat]")) {
  if (!host.dataset.relaisMounted) {
    host.dataset.relaisMounted = "1";
    new Chat(host);
  }
}
