// Shared by the desk and the supervisor page: the session token, REST calls, and safe DOM building.
// Every piece of text reaches the page through textContent (el() below): nothing a customer or an
// agent wrote is ever parsed as HTML.

const TOKEN_KEY = "relais.token";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class Unauthorized extends Error {}

export async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    ...options,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (response.status === 401) throw new Unauthorized("invalid or expired token");
  if (!response.ok) {
    const detail = await response.json().catch(() => ({}));
    const message = typeof detail.detail === "string" ? detail.detail : JSON.stringify(detail.detail ?? detail);
    const error = new Error(`${response.status}: ${message}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

// The login form of both pages: the dev login when the gateway offers it, or a token from the identity
// provider (pasted, or handed over in the URL fragment as `#token=...`).
export function loginForm({ onToken, roles = ["agent"] }) {
  const fragment = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fragment) {
    history.replaceState(null, "", location.pathname);
    onToken(fragment);
    return el("p", {}, "Signing in…");
  }
  const error = el("p", { class: "error", role: "alert", "data-testid": "login-error" });
  const field = (label, name, value = "") =>
    el("label", {}, label, el("input", { name, value, "data-testid": `login-${name}` }));
  const dev = el(
    "form",
    { "data-testid": "dev-login" },
    el("h2", {}, "Dev login"),
    field("Tenant", "tenant", "demo"),
    field("Agent id", "agent_id"),
    field("Name", "name"),
    field("Skills (name:level, …)", "skills", "orders:3, billing:3, care:3"),
    field("Languages", "languages", "en, fr"),
    el("label", {}, el("input", { type: "checkbox", name: "supervisor", checked: roles.includes("supervisor"), "data-testid": "login-supervisor" }), " supervisor"),
    el("button", { type: "submit", "data-testid": "login-submit" }, "Log in"),
  );
  dev.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(dev);
    const skills = Object.fromEntries(
      String(form.get("skills"))
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
        .map((s) => {
          const [name, level] = s.split(":");
          return [name.trim(), Number(level ?? 3)];
        }),
    );
    const languages = String(form.get("languages")).split(",").map((s) => s.trim()).filter(Boolean);
    const wanted = form.get("supervisor") ? [...new Set([...roles, "supervisor"])] : roles.filter((r) => r !== "supervisor");
    try {
      const issued = await api("/v1/dev/login", {
        method: "POST",
        body: {
          tenant: form.get("tenant"),
          agent_id: form.get("agent_id"),
          name: form.get("name") || form.get("agent_id"),
          roles: wanted.length ? wanted : ["agent"],
          skills,
          languages,
        },
      });
      onToken(issued.token);
    } catch (e) {
      error.textContent = e.status === 404 ? "The dev login is off on this gateway: paste a token." : e.message;
    }
  });
  const pasted = el(
    "form",
    { "data-testid": "token-login" },
    el("h2", {}, "Token"),
    el("label", {}, "JWT from your identity provider", el("textarea", { name: "token", rows: 3 })),
    el("button", { type: "submit" }, "Use token"),
  );
  pasted.addEventListener("submit", (event) => {
    event.preventDefault();
    onToken(String(new FormData(pasted).get("token")).trim());
  });
  return el("section", { class: "login" }, error, dev, pasted);
}

export function formatTime(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
}
