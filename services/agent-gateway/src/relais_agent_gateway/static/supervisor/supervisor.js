// The supervisor page: the router's live views of the tenant's queues and agents, charts of the last
// hour, and the supervisor's actions (move a conversation, take it back, set an agent away or offline,
// whisper to the agent, watch a conversation read only), all through the gateway's /v1/supervisor API
// (supervisor role). Rendered with el() only; the charts are uPlot, vendored in /static/vendor/uplot.
import uPlot from "../static/vendor/uplot/uPlot.esm.js";
import { api, duration, el, loginForm, setToken, token, Unauthorized } from "../static/common.js";

const POLL_MS = 3000;
const COLORS = ["#2f5bd3", "#b3261e", "#1b8a5a", "#c77700", "#7442c8", "#00838f", "#6b7385"];
const root = document.getElementById("app");
let timer = null;

// Built once per login: polling refreshes the tables and charts in place, so a form being filled in
// (the action panel) is never rebuilt under the supervisor's fingers.
const page = { header: null, charts: null, alerts: null, queues: null, agents: null, act: null, watch: null, notice: null };
const view = { queues: [], agents: [], awayReasons: [], selected: null };
const charts = new Map(); // name -> {plot, series key}
const WINDOW_S = 3600;
let chartEnd = Date.now() / 1000; // the x axis is always the hour up to the newest sample

async function refresh() {
  try {
    const [queues, agents, history] = await Promise.all([
      api("/v1/supervisor/queues"),
      api("/v1/supervisor/agents"),
      api("/v1/supervisor/history"),
    ]);
    view.queues = queues.queues;
    view.agents = agents.agents;
    view.awayReasons = agents.away_reasons || [];
    page.header.replaceWith((page.header = header(queues.as_of)));
    page.alerts.replaceChildren(alertTable(agents.alerts || []));
    page.queues.replaceChildren(queueTable(view.queues));
    page.agents.replaceChildren(agentTable(view.agents));
    drawCharts(history.samples);
    const holder = page.act.querySelector("[data-testid=holder]");
    if (holder && view.selected) holder.textContent = holderText(view.selected);
    await refreshWatch();
  } catch (e) {
    if (e instanceof Unauthorized) return logout("Your session ended: log in again.");
    const why = e.status === 403 ? "This page needs the supervisor role." : e.status === 404 ? "No routing activity for this tenant yet." : e.message;
    page.notice.replaceChildren(el("p", { class: "error", role: "alert", "data-testid": "supervisor-error" }, why));
    return;
  }
  page.notice.replaceChildren();
}

function header(asOf) {
  return el(
    "header",
    {},
    el("h1", {}, "Relais supervisor"),
    el("span", { class: "connection online", "data-testid": "as-of" }, asOf ? `as of ${new Date(asOf).toLocaleTimeString()}` : "…"),
    el("button", { onclick: () => logout() }, "Log out"),
  );
}

function percent(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
}

function selectButton(conversationId, label = conversationId) {
  return el("button", { class: "link", "data-testid": "select-conversation", "data-conversation": conversationId, onclick: () => select(conversationId) }, label);
}

function queueTable(queues) {
  return el(
    "table",
    { "data-testid": "queues" },
    el("caption", {}, "Queues"),
    el("tr", {}, ["queue", "waiting", "longest wait", "service level", "target", "eligible agents", "offers", "first waiting"].map((h) => el("th", {}, h))),
    queues.map((q) =>
      el(
        "tr",
        { "data-testid": "queue-row" },
        el("td", {}, q.queue),
        el("td", { "data-testid": "waiting" }, q.waiting),
        el("td", {}, duration(q.longest_wait_s)),
        el("td", { class: q.service_level !== null && q.service_level < q.target_level ? "error" : "" }, percent(q.service_level)),
        el("td", {}, `${percent(q.target_level)} in ${duration(q.target_answer_s)}`),
        el("td", {}, q.eligible_agents),
        el("td", {}, q.offers),
        el("td", {}, (q.waiting_items || []).slice(0, 5).map((i) => selectButton(i.conversation_id, `${i.conversation_id} (${duration(i.waited_s)})`))),
      ),
    ),
  );
}

// Conversations whose response target was missed, until their agent answers.
function alertTable(alerts) {
  if (!alerts.length) return el("p", { "data-testid": "alerts" }, "No response target missed.");
  return el(
    "table",
    { "data-testid": "alerts", class: "alerts" },
    el("caption", {}, "Response targets missed"),
    el("tr", {}, ["conversation", "agent", "queue", "clock", "held"].map((h) => el("th", {}, h))),
    alerts.map((a) =>
      el(
        "tr",
        { "data-testid": "alert-row", role: "alert" },
        el("td", {}, selectButton(a.conversation_id)),
        el("td", {}, a.agent_id),
        el("td", {}, a.queue),
        el("td", {}, a.clock),
        el("td", {}, duration(a.held_s)),
      ),
    ),
  );
}

function agentTable(agents) {
  return el(
    "table",
    { "data-testid": "agents" },
    el("caption", {}, "Agents"),
    el("tr", {}, ["agent", "state", "load", "capacity", "occupancy", "offers", "conversations", "skills", ""].map((h) => el("th", {}, h))),
    agents.map((a) =>
      el(
        "tr",
        { "data-testid": "agent-row", "data-agent": a.agent_id },
        el("td", {}, a.name ? `${a.name} (${a.agent_id})` : a.agent_id),
        el("td", { "data-testid": "agent-state" }, a.away_reason ? `${a.state} — ${a.away_reason}` : a.state),
        el("td", {}, Object.entries(a.load).map(([k, v]) => `${k}: ${v}`).join(", ") || "0"),
        el("td", {}, Object.entries(a.capacity).map(([k, v]) => `${k}: ${v}`).join(", ")),
        el("td", {}, percent(a.occupancy)),
        el("td", {}, a.offers),
        el("td", {}, (a.conversation_ids || []).length ? (a.conversation_ids || []).map((c) => selectButton(c)) : a.conversations),
        el("td", {}, Object.entries(a.skills).map(([k, v]) => `${k} ${v}`).join(", ")),
        el("td", {}, presenceForm(a)),
      ),
    ),
  );
}

// Away with one of the tenant's reasons, or offline: only the agent makes themselves available again.
function presenceForm(agent) {
  if (agent.state === "offline") return "";
  const reason = el("select", { "data-testid": "away-reason", "aria-label": `away reason for ${agent.agent_id}` }, view.awayReasons.map((r) => el("option", { value: r }, r)));
  return el(
    "span",
    { class: "inline" },
    reason,
    el("button", { "data-testid": "set-away", onclick: () => act(`/v1/supervisor/agents/${encodeURIComponent(agent.agent_id)}/presence`, { presence: "away", away_reason: reason.value || undefined }, `${agent.agent_id} set away`) }, "Set away"),
    el("button", { "data-testid": "set-offline", onclick: () => act(`/v1/supervisor/agents/${encodeURIComponent(agent.agent_id)}/presence`, { presence: "offline" }, `${agent.agent_id} set offline`) }, "Set offline"),
  );
}

// -- acting on one conversation -------------------------------------------------------------------

function select(conversationId) {
  view.selected = conversationId;
  renderActions();
  refreshWatch();
}

function holderText(conversationId) {
  const holder = view.agents.find((a) => (a.conversation_ids || []).includes(conversationId));
  return holder ? `with ${holder.agent_id}` : "not with an agent";
}

function renderActions() {
  const id = view.selected;
  const path = `/v1/supervisor/conversations/${encodeURIComponent(id)}`;
  const queue = el("select", { "data-testid": "move-queue" }, el("option", { value: "" }, "(same queue)"), view.queues.map((q) => el("option", { value: q.queue }, q.queue)));
  const agent = el("select", { "data-testid": "move-agent" }, el("option", { value: "" }, "(any agent)"), view.agents.filter((a) => a.state !== "offline").map((a) => el("option", { value: a.agent_id }, a.name ? `${a.name} (${a.agent_id})` : a.agent_id)));
  const note = el("input", { "data-testid": "move-note", placeholder: "Note for the next agent (optional)" });
  const whisper = el("textarea", { rows: 2, "data-testid": "whisper-text", placeholder: "Whisper to the agent: only they see it, never the customer" });
  page.act.replaceChildren(
    el("h2", {}, "Conversation ", el("code", { "data-testid": "selected-conversation" }, id), el("button", { onclick: () => { view.selected = null; page.act.replaceChildren(); } }, "×")),
    el("p", { class: "meta", "data-testid": "holder" }, holderText(id)),
    el(
      "form",
      { "data-testid": "move-form", onsubmit: (e) => { e.preventDefault(); if (!queue.value && !agent.value) return notice("Choose a queue or an agent to move it to.", true); act(`${path}/move`, { to_queue: queue.value || undefined, to_agent_id: agent.value || undefined, note: note.value || undefined }, `moved ${id}`); } },
      el("label", {}, "Move to queue ", queue),
      el("label", {}, " or agent ", agent),
      note,
      el("button", { type: "submit", class: "primary", "data-testid": "move" }, "Move"),
    ),
    el("div", {}, el("button", { "data-testid": "take-back", onclick: () => act(`${path}/take-back`, {}, `took ${id} back`) }, "Take back from its agent")),
    el(
      "form",
      { "data-testid": "whisper-form", onsubmit: (e) => { e.preventDefault(); if (!whisper.value.trim()) return; act(`${path}/whisper`, { text: whisper.value }, "whispered").then((ok) => { if (ok) whisper.value = ""; }); } },
      whisper,
      el("button", { type: "submit", "data-testid": "whisper" }, "Whisper"),
    ),
    el("h3", {}, "Live, read only"),
    (page.watch = el("ol", { class: "timeline", "data-testid": "watch" })),
  );
}

async function act(path, body, done) {
  try {
    await api(path, { method: "POST", body });
    notice(`${done}.`);
    return true;
  } catch (e) {
    if (e instanceof Unauthorized) logout("Your session ended: log in again.");
    else notice(e.message, true);
    return false;
  }
}

function notice(text, error = false) {
  page.notice.replaceChildren(el("p", { class: error ? "error" : "flag", role: error ? "alert" : "status", "data-testid": "action-result" }, text));
}

// The conversation's timeline from the context store, polled with the page: the supervisor watches,
// and has nothing here that could write to the customer.
async function refreshWatch() {
  if (!view.selected || !page.watch) return;
  const id = view.selected;
  try {
    const conversation = await api(`/v1/conversations/${encodeURIComponent(id)}`);
    if (view.selected !== id) return;
    page.watch.replaceChildren(...conversation.timeline.map(watchEntry));
  } catch (e) {
    if (e instanceof Unauthorized) throw e;
    page.watch.replaceChildren(el("li", { class: "error" }, e.message));
  }
}

function watchEntry(e) {
  const at = new Date(e.at).toLocaleTimeString();
  if (e.kind === "message") return el("li", { class: `message ${e.author_kind}`, "data-testid": "watch-message" }, el("span", { class: "meta" }, `${e.author_name || e.author_kind} · ${at}`), el("p", { class: "text" }, e.text));
  if (e.kind === "note") return el("li", { class: "note" }, el("span", { class: "meta" }, `internal note · ${e.author_name} · ${at}`), el("p", { class: "text" }, e.text));
  const detail = e.to_queue || e.to_agent_id || e.agent_name || e.agent_id || e.queue || e.reason || "";
  return el("li", { class: "event" }, `${e.kind.replaceAll("_", " ")}${detail ? `: ${detail}` : ""} · ${at}`);
}

// -- charts ---------------------------------------------------------------------------------------

const CHARTS = [
  { name: "waiting", title: "Waiting", value: (q) => q.waiting, unit: "" },
  { name: "longest", title: "Longest wait (s)", value: (q) => q.longest_wait_s, unit: "s" },
  { name: "service", title: "Service level and occupancy (%)", value: (q) => (q.service_level === null ? null : q.service_level * 100), unit: "%", occupancy: true },
];

function drawCharts(samples) {
  const names = [...new Set(samples.flatMap((s) => Object.keys(s.queues)))].sort();
  const xs = samples.map((s) => s.t);
  chartEnd = xs.length ? xs[xs.length - 1] : Date.now() / 1000;
  for (const spec of CHARTS) {
    const labels = spec.occupancy ? [...names, "occupancy"] : names;
    const data = [xs, ...names.map((n) => samples.map((s) => (s.queues[n] ? spec.value(s.queues[n]) : null)))];
    if (spec.occupancy) data.push(samples.map((s) => (s.occupancy === null ? null : s.occupancy * 100)));
    const key = labels.join("|");
    const existing = charts.get(spec.name);
    if (existing && existing.key === key) {
      existing.plot.setData(data);
      continue;
    }
    existing?.plot.destroy();
    const holder = page.charts.querySelector(`[data-chart="${spec.name}"]`);
    holder.replaceChildren();
    const series = [{}, ...labels.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2, dash: label === "occupancy" ? [6, 4] : undefined, spanGaps: true }))];
    const options = {
      title: spec.title,
      width: Math.max(280, Math.floor((page.charts.clientWidth || 960) / 3) - 24),
      height: 180,
      scales: { x: { time: true, range: () => [chartEnd - WINDOW_S, chartEnd] }, y: spec.unit === "%" ? { range: [0, 100] } : { range: (u, min, max) => [0, Math.max(1, max)] } },
      series,
    };
    charts.set(spec.name, { key, plot: new uPlot(options, data, holder) });
  }
  page.charts.dataset.samples = String(samples.length);
}

// -- session --------------------------------------------------------------------------------------

function start(newToken) {
  setToken(newToken);
  page.header = header(null);
  page.notice = el("div", { "data-testid": "notice" });
  page.charts = el("section", { class: "charts", "data-testid": "charts" }, CHARTS.map((c) => el("div", { class: "chart", "data-chart": c.name, "data-testid": `chart-${c.name}` })));
  page.alerts = el("section", { class: "panel" });
  page.queues = el("section", { class: "panel" });
  page.agents = el("section", { class: "panel" });
  page.act = el("section", { class: "act", "data-testid": "act" });
  root.replaceChildren(page.header, page.notice, page.charts, page.act, page.alerts, page.queues, page.agents);
  refresh();
  timer = setInterval(refresh, POLL_MS);
}

function logout(notice) {
  setToken(null);
  clearInterval(timer);
  for (const { plot } of charts.values()) plot.destroy();
  charts.clear();
  view.selected = null;
  root.replaceChildren(loginForm({ onToken: start, roles: ["supervisor"] }));
  if (notice) root.prepend(el("p", { class: "error", role: "alert" }, notice));
}

if (token()) start(token());
else logout();
