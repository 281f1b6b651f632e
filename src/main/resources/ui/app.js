// raftkv's live view: one EventSource on GET /ui/events of the node serving this page, which sends
// the whole cluster's picture a few times a second. Plain JS, no framework, nothing from a CDN.
"use strict";

const timeline = new Map(); // "node:pid:seq" -> event, kept here so that a dead node's events stay
let lastPictureMs = 0;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else if (k === "onclick") e.onclick = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function termColour(term) {
  return "hsl(" + ((term * 67) % 360) + ", 70%, 70%)";
}

/** The leader: among nodes that answer, one that says it leads, in the highest term. */
function findLeader(nodes) {
  let best = null;
  for (const n of nodes) {
    if (!n.up || n.state.role !== "leader") continue;
    if (best === null || n.state.term > best.state.term) best = n;
  }
  return best;
}

function render(pic) {
  lastPictureMs = Date.now();
  document.getElementById("served-by").textContent = pic.servedBy;
  const leader = findLeader(pic.nodes);
  const leaderEl = document.getElementById("leader");
  leaderEl.textContent = leader ? "node " + leader.id + " (term " + leader.state.term + ")" : "none";
  leaderEl.dataset.leader = leader ? String(leader.id) : "";
  renderRequests(pic.nodes);
  renderNodes(pic, leader);
  renderFollowers(leader);
  renderLogs(pic.nodes);
  renderTimeline(pic.nodes);
}

function renderRequests(nodes) {
  let ops = 0, p99 = null, note = null;
  for (const n of nodes) {
    if (!n.up) continue;
    const r = n.state.requests;
    ops += r.perSecond;
    if (r.p99Ms !== null && (p99 === null || r.p99Ms > p99)) p99 = r.p99Ms;
    if (r.p99Note) note = r.p99Note;
  }
  document.getElementById("ops").textContent = ops.toFixed(1);
  document.getElementById("p99").textContent = note ? note : p99 === null ? "–" : "≤ " + p99 + " ms";
}

// Cards stay in place between updates (only their contents change), so that a button under the
// mouse is still the same element when the click ends.
const cards = new Map(); // node id -> {card, info, controls, controlsKey}

function renderNodes(pic, leader) {
  const box = document.getElementById("nodes");
  const ids = pic.nodes.map((n) => n.id).join(",");
  if (box.dataset.ids !== ids) {
    box.replaceChildren();
    cards.clear();
    box.dataset.ids = ids;
  }
  for (const n of pic.nodes) {
    let c = cards.get(n.id);
    if (!c) {
      c = {card: el("div", {}), info: el("div", {}), controls: el("div", {"class": "controls"}), controlsKey: ""};
      c.card.append(c.info, c.controls);
      box.append(c.card);
      cards.set(n.id, c);
    }
    const s = n.up ? n.state : n.last;
    c.card.className = "node" + (leader && leader.id === n.id ? " leader" : "") + (n.up ? "" : " is-down");
    c.card.dataset.nodeId = n.id;
    c.card.dataset.up = String(n.up);
    c.card.dataset.role = n.up ? s.role : "down";
    const title = el("h3", {}, "node " + n.id,
      el("span", {"class": "badge " + (n.up ? "up" : "down")}, n.up ? "up" : "unreachable"));
    if (n.up) title.append(el("span", {"class": "badge role-" + s.role}, s.role));
    if (n.up && s.networkCut) title.append(el("span", {"class": "badge cut"}, "network cut"));
    const kv = el("div", {"class": "kv"}, el("span", {}, "address"), el("span", {}, n.address));
    if (s) {
      const seen = n.up ? "" : " (last seen)";
      kv.append(el("span", {}, "term" + seen), el("span", {}, s.term),
        el("span", {}, "commit"), el("span", {"class": "commit-index"}, s.commitIndex),
        el("span", {}, "applied"), el("span", {}, s.appliedIndex),
        el("span", {}, "last index"), el("span", {}, s.lastLogIndex),
        el("span", {}, "leader"), el("span", {}, s.leaderId === null ? "unknown" : "node " + s.leaderId),
        el("span", {}, "requests"), el("span", {}, s.requests.perSecond + "/s"));
    }
    c.info.replaceChildren(title, kv);
    if (!n.up) c.info.append(el("div", {"class": "err"}, n.error));
    const key = pic.localControl + ":" + n.up + ":" + (n.up && n.state.networkCut);
    if (c.controlsKey !== key) {
      c.controlsKey = key;
      c.controls.replaceChildren(...(pic.localControl ? controls(n) : []));
    }
  }
}

/** Only in 'raftkv local': the node serving the page relays these to the control server. */
function controls(n) {
  const cut = n.up && n.state.networkCut;
  const buttons = [];
  const add = (action, label, enabled) => {
    const b = el("button", {"data-action": action, "data-node": n.id, "title": action + " node " + n.id}, label);
    b.disabled = !enabled;
    b.onclick = () => control(action, n.id);
    buttons.push(b);
  };
  add("kill", "kill", n.up);
  add("restart", "restart", !n.up);
  add(cut ? "heal" : "cut", cut ? "heal network" : "cut network", n.up);
  return buttons;
}

async function control(action, id) {
  const out = document.getElementById("control-result");
  out.textContent = action + " node " + id + "…";
  try {
    const res = await fetch("/ui/control/" + action + "?node=" + id, {method: "POST"});
    const body = await res.json();
    out.textContent = body.message || body.error || ("HTTP " + res.status);
  } catch (e) {
    out.textContent = action + " node " + id + " failed: " + e.message;
  }
}

function renderFollowers(leader) {
  const body = document.querySelector("#followers tbody");
  body.replaceChildren();
  if (!leader) {
    body.append(el("tr", {}, el("td", {"colspan": "6"}, "no leader right now")));
    return;
  }
  for (const f of leader.state.followers) {
    body.append(el("tr", {"data-follower": f.id}, el("td", {}, "node " + f.id), el("td", {}, f.matchIndex),
      el("td", {}, f.nextIndex), el("td", {"class": "lag"}, f.lag), el("td", {}, f.state), el("td", {}, f.inflight)));
  }
}

function renderLogs(nodes) {
  const box = document.getElementById("logs");
  box.replaceChildren();
  for (const n of nodes) {
    const s = n.up ? n.state : n.last;
    const row = el("div", {"class": "strip-row" + (n.up ? "" : " is-down")}, el("span", {"class": "label"}, "node " + n.id));
    const strip = el("div", {"class": "strip", "data-node-id": n.id, "data-last-index": s ? s.lastLogIndex : 0});
    if (s) {
      const start = s.log.start;
      if (start > 1) row.append(el("span", {"class": "muted"}, "…" + (start - 1)));
      s.log.terms.forEach((term, i) => {
        const index = start + i;
        const cell = el("div", {"class": "e" + (index > s.commitIndex ? " uncommitted" : ""),
          "title": "index " + index + ", term " + term}, term);
        cell.style.background = termColour(term);
        strip.append(cell);
        if (index === s.commitIndex) strip.append(el("div", {"class": "commit", "title": "commit index " + index}));
      });
      row.append(strip, el("span", {"class": "muted"}, "last " + s.lastLogIndex + ", commit " + s.commitIndex));
    } else {
      row.append(strip, el("span", {"class": "muted"}, "never seen"));
    }
    box.append(row);
  }
}

function renderTimeline(nodes) {
  for (const n of nodes) {
    if (!n.up) continue;
    for (const e of n.state.events) {
      const key = n.id + ":" + n.state.pid + ":" + e.seq;
      timeline.set(key, Object.assign({node: n.id, key: key}, e));
    }
  }
  const all = [...timeline.values()].sort((a, b) => b.timeMs - a.timeMs);
  for (const e of all.slice(200)) timeline.delete(e.key);
  const list = document.getElementById("timeline");
  list.replaceChildren();
  for (const e of all.slice(0, 100)) {
    const t = new Date(e.timeMs).toISOString().substring(11, 23);
    list.append(el("li", {"data-kind": e.kind}, t + "  node " + e.node + "  ", el("span", {"class": "kind"}, e.kind),
      " term " + e.term + ": " + e.text));
  }
}

function connect() {
  const conn = document.getElementById("connection");
  const source = new EventSource("/ui/events");
  source.addEventListener("open", () => {
    conn.textContent = "live";
    conn.className = "badge up";
  });
  source.addEventListener("cluster", (m) => render(JSON.parse(m.data)));
  source.addEventListener("error", () => {
    // EventSource retries by itself; the picture stays, marked stale, never blank.
    conn.textContent = "reconnecting to the serving node…";
    conn.className = "badge down";
  });
  setInterval(() => {
    if (lastPictureMs && Date.now() - lastPictureMs > 2000) {
      conn.textContent = "no update for " + Math.round((Date.now() - lastPictureMs) / 1000) + " s";
      conn.className = "badge down";
    } else if (lastPictureMs && source.readyState === EventSource.OPEN) {
      conn.textContent = "live";
      conn.className = "badge up";
    }
  }, 500);
}

connect();
