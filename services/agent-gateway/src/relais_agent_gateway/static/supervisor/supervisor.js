// The supervisor page: the router's live views of the tenant's queues and agents, polled through the
// gateway (GET /v1/supervisor/queues and /agents, supervisor role), rendered with el() only.
import { api, duration, el, loginForm, setToken, token, Unauthorized } from "../static/common.js";

const POLL_MS = 3000;
const root = document.getElementById("app");
let timer = null;

async function refresh() {
  try {
    const [queues, agents] = await Promise.all([api("/v1/supervisor/queues"), api("/v1/supervisor/agents")]);
    root.replaceChildren(header(queues.as_of), alertTable(agents.alerts || []), queueTable(queues.queues), agentTable(agents.agents));
  } catch (e) {
    if (e instanceof Unauthorized) return logout("Your session ended: log in again.");
    const why = e.status === 403 ? "This page needs the supervisor role." : e.status === 404 ? "No routing activity for this tenant yet." : e.message;
    root.replaceChildren(header(null), el("p", { class: "error", role: "alert", "data-testid": "supervisor-error" }, why));
  }
}

function header(asOf) {
  return el(
    "header",
    {},
    el("h1", {}, "Relais supervisor"),
    el("span", { class: "connection online" }, asOf ? `as of ${new Date(asOf).toLocaleTimeString()}` : "…"),
    el("button", { onclick: () => logout() }, "Log out"),
  );
}

function percent(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
}

function queueTable(queues) {
  return el(
    "table",
    { "data-testid": "queues" },
    el("caption", {}, "Queues"),
    el("tr", {}, ["queue", "waiting", "longest wait", "service level", "target", "eligible agents", "offers"].map((h) => el("th", {}, h))),
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
        el("td", {}, a.conversation_id),
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
    el("tr", {}, ["agent", "state", "load", "capacity", "occupancy", "offers", "conversations", "skills"].map((h) => el("th", {}, h))),
    agents.map((a) =>
      el(
        "tr",
        { "data-testid": "agent-row" },
        el("td", {}, a.name ? `${a.name} (${a.agent_id})` : a.agent_id),
        el("td", { "data-testid": "agent-state" }, a.away_reason ? `${a.state} — ${a.away_reason}` : a.state),
        el("td", {}, Object.entries(a.load).map(([k, v]) => `${k}: ${v}`).join(", ") || "0"),
        el("td", {}, Object.entries(a.capacity).map(([k, v]) => `${k}: ${v}`).join(", ")),
        el("td", {}, percent(a.occupancy)),
        el("td", {}, a.offers),
        el("td", {}, a.conversations),
        el("td", {}, Object.entries(a.skills).map(([k, v]) => `${k} ${v}`).join(", ")),
      ),
    ),
  );
}

function start(newToken) {
  setToken(newToken);
  refresh();
  timer = setInterval(refresh, POLL_MS);
}

function logout(notice) {
  setToken(null);
  clearInterval(timer);
  root.replaceChildren(loginForm({ onToken: start, roles: ["supervisor"] }));
  if (notice) root.prepend(el("p", { class: "error", role: "alert" }, notice));
}

if (token()) start(token());
else logout();
