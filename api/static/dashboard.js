// Cryptosense dashboard: reads the public API with the analyst's key and draws it.
// Text from documents is untrusted: it is only ever set with textContent, never as HTML,
// and links keep http(s) URLs alone.
"use strict";

const KEY_NAME = "cryptosense.apiKey";
const SVG_NS = "http://www.w3.org/2000/svg";
const MAX_CHARTS = 4;

function apiKey() { return localStorage.getItem(KEY_NAME) || ""; }

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

function setStatus(text, isError) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

function headers(extra) {
  const h = Object.assign({ Accept: "application/json" }, extra || {});
  const key = apiKey();
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function problemDetail(resp) {
  try {
    const body = await resp.json();
    return body.detail || body.title || resp.statusText;
  } catch (e) {
    return resp.statusText;
  }
}

async function getJSON(path) {
  const resp = await fetch(path, { headers: headers() });
  if (!resp.ok) throw new ApiError(resp.status, await problemDetail(resp));
  return resp.json();
}

function safeHref(url) {
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch (e) {
    return null;
  }
}

function fmt(x, digits) {
  return x === null || x === undefined ? "-" : Number(x).toFixed(digits);
}

function shortTime(iso) { return iso ? iso.replace("T", " ").replace(/:\d\dZ$/, "Z") : "-"; }

// --- charts ----------------------------------------------------------------------------

function linePath(points, x, y) {
  return points.map((p, i) => (i ? "L" : "M") + x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1))
    .join("");
}

function drawChart(asset, index, prices) {
  const W = 520, H = 220, L = 36, R = 56, T = 12, B = 24;
  const idx = index.map(p => [Date.parse(p.ts), p.index]).filter(p => p[1] !== null);
  const px = prices.map(b => [Date.parse(b.ts), b.close]);
  const svg = svgEl("svg", {
    viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
    "data-asset": asset, "data-index-points": idx.length, "data-price-points": px.length,
  });
  svg.appendChild(svgEl("title")).textContent = asset + " sentiment index and price";
  const times = idx.concat(px).map(p => p[0]);
  if (!times.length) {
    const t = svgEl("text", { x: W / 2, y: H / 2, "text-anchor": "middle" });
    t.textContent = "no data yet";
    svg.appendChild(t);
    return svg;
  }
  let t0 = Math.min(...times), t1 = Math.max(...times);
  if (t1 === t0) t1 = t0 + 3600e3;
  const x = t => L + (W - L - R) * (t - t0) / (t1 - t0);
  const yIdx = v => T + (H - T - B) * (1 - v / 100);
  for (const [x1, y1, x2, y2] of [[L, T, L, H - B], [L, H - B, W - R, H - B], [W - R, T, W - R, H - B]]) {
    svg.appendChild(svgEl("line", { x1, y1, x2, y2, class: "axis" }));
  }
  for (const v of [0, 50, 100]) {
    const t = svgEl("text", { x: L - 4, y: yIdx(v) + 3, "text-anchor": "end" });
    t.textContent = String(v);
    svg.appendChild(t);
  }
  const dates = [[t0, "start"], [t1, "end"]];
  for (const [t, anchor] of dates) {
    const label = svgEl("text", { x: x(t), y: H - 8, "text-anchor": anchor });
    label.textContent = new Date(t).toISOString().slice(0, 16).replace("T", " ");
    svg.appendChild(label);
  }
  if (idx.length) {
    svg.appendChild(svgEl("path", { d: linePath(idx, x, yIdx), class: "index-line" }));
  }
  if (px.length) {
    let lo = Math.min(...px.map(p => p[1])), hi = Math.max(...px.map(p => p[1]));
    if (hi === lo) { hi += 1; lo -= 1; }
    const yPx = v => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
    svg.appendChild(svgEl("path", { d: linePath(px, x, yPx), class: "price-line" }));
    for (const v of [lo, hi]) {
      const t = svgEl("text", { x: W - R + 4, y: yPx(v) + 3 });
      t.textContent = v >= 100 ? v.toFixed(0) : v.toPrecision(4);
      svg.appendChild(t);
    }
  }
  return svg;
}

async function loadCharts() {
  const box = document.getElementById("charts");
  const { assets } = await getJSON("/v1/assets");
  const top = assets.slice().sort((a, b) => b.documents - a.documents).slice(0, MAX_CHARTS);
  box.replaceChildren();
  for (const { asset } of top) {
    const fig = el("figure");
    fig.appendChild(el("h3", asset));
    box.appendChild(fig);
    const a = encodeURIComponent(asset);
    const [series, prices] = await Promise.all([
      getJSON(`/v1/sentiment/${a}?freq=1h&limit=240`),
      getJSON(`/v1/prices/${a}?timeframe=1h&limit=240`).catch(() => ({ bars: [] })),
    ]);
    const last = series.points.length ? series.points[series.points.length - 1] : null;
    fig.appendChild(drawChart(asset, series.points, prices.bars));
    fig.appendChild(el("figcaption",
      last ? `index ${fmt(last.index, 1)} (${last.n_docs} docs, ${shortTime(last.ts)})`
        : "no index points yet", "meta"));
  }
}

// --- stories, signals, briefing ------------------------------------------------------------

async function loadStories() {
  const { documents } = await getJSON("/v1/documents?limit=15");
  const list = document.getElementById("stories");
  list.replaceChildren();
  for (const d of documents) {
    const li = el("li");
    const href = safeHref(d.url);
    const title = href ? el("a", d.title) : el("span", d.title);
    if (href) { title.href = href; title.rel = "noopener noreferrer"; title.target = "_blank"; }
    li.appendChild(title);
    const meta = el("div", null, "meta");
    meta.appendChild(el("span", `${d.label} ${fmt(d.score, 2)}`, d.label));
    meta.appendChild(el("span", ` · ${d.source} · ${(d.assets || []).join(", ")} · ` +
      shortTime(d.published_at)));
    li.appendChild(meta);
    list.appendChild(li);
  }
  if (!documents.length) list.appendChild(el("li", "no scored stories yet", "meta"));
}

async function loadSignals() {
  const { signals } = await getJSON("/v1/signals");
  const body = document.querySelector("#signals tbody");
  body.replaceChildren();
  for (const s of signals) {
    const r = s.reliability;
    const row = el("tr");
    for (const cell of [s.asset, s.timeframe, s.action, fmt(s.prob_up, 2), r.resolved,
      r.hit_rate === null ? "-" : (100 * r.hit_rate).toFixed(0) + "%",
      r.mean_net_return === null ? "-" : (100 * r.mean_net_return).toFixed(2) + "%",
      shortTime(s.asof || s.ts)]) {
      row.appendChild(el("td", cell));
    }
    body.appendChild(row);
  }
  if (!signals.length) {
    const row = el("tr");
    const td = el("td", "no signals yet", "meta");
    td.colSpan = 8;
    row.appendChild(td);
    body.appendChild(row);
  }
}

// A small Markdown reader that builds elements (headings, bullets, paragraphs, **bold**)
// and never parses HTML: the briefing quotes untrusted headlines.
function renderMarkdown(md, box) {
  box.replaceChildren();
  let list = null;
  for (const raw of md.split("\n")) {
    const line = raw.trimEnd();
    const heading = /^(#{1,4})\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*]\s+(.*)$/.exec(line);
    if (!line.trim()) { list = null; continue; }
    if (heading) {
      list = null;
      box.appendChild(inline(el("h" + Math.min(6, heading[1].length + 2)), heading[2]));
    } else if (bullet) {
      if (!list) { list = el("ul"); box.appendChild(list); }
      list.appendChild(inline(el("li"), bullet[1]));
    } else {
      list = null;
      box.appendChild(inline(el("p"), line));
    }
  }
}

// Inline Markdown: **bold**, [text](http(s) link) and ![alt](data:image/...) charts; the
// rest is text. Link and image targets are checked, never trusted.
const INLINE = /(!?\[[^\]]*\]\([^)\s]+\)|\*\*[^*]+\*\*)/;
const SAFE_IMAGE = /^data:image\/(svg\+xml|png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$/;

function inline(node, text) {
  for (const part of text.split(INLINE)) {
    if (!part) continue;
    const bold = /^\*\*([^*]+)\*\*$/.exec(part);
    const link = /^(!?)\[([^\]]*)\]\(([^)\s]+)\)$/.exec(part);
    if (bold) {
      node.appendChild(el("strong", bold[1]));
    } else if (link && link[1] === "!" && SAFE_IMAGE.test(link[3])) {
      const img = el("img");
      img.src = link[3];
      img.alt = link[2];
      img.className = "briefing-chart";
      node.appendChild(img);
    } else if (link && !link[1] && safeHref(link[3])) {
      const a = el("a", link[2]);
      a.href = safeHref(link[3]);
      a.rel = "noopener noreferrer";
      a.target = "_blank";
      node.appendChild(a);
    } else {
      node.appendChild(document.createTextNode(part));
    }
  }
  return node;
}

async function loadBriefing() {
  const box = document.getElementById("briefing");
  const day = document.getElementById("briefing-day");
  let list;
  try {
    list = await getJSON("/v1/briefings");
  } catch (e) {
    if (e.status === 404) { box.replaceChildren(el("p", "no briefings here yet", "meta")); return; }
    throw e;
  }
  const items = list.briefings || [];
  if (!items.length) { box.replaceChildren(el("p", "no briefing yet", "meta")); return; }
  const latest = items[0].day;
  const resp = await fetch(`/v1/briefings/${encodeURIComponent(latest)}?format=markdown`,
    { headers: headers({ Accept: "text/markdown" }) });
  if (!resp.ok) throw new ApiError(resp.status, await problemDetail(resp));
  day.textContent = latest;
  renderMarkdown(await resp.text(), box);
}

// --- chat ------------------------------------------------------------------------------

let conversationId = null;

// Server-Sent Events from a POST: read the body and split it into events.
async function* sseEvents(resp) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: data.join("\n") };
    }
  }
}

function showAnswer(turn, answer) {
  const text = turn.querySelector(".answer");
  if (answer.narrative) text.textContent = answer.narrative;
  if ((answer.figures || []).length) {
    const figs = el("ul", null, "figures");
    for (const f of answer.figures) {
      figs.appendChild(el("li", `${f.name}: ${f.value}${f.unit ? " " + f.unit : ""}`));
    }
    turn.appendChild(figs);
  }
  if ((answer.citations || []).length) {
    const cites = el("ol", null, "citations");
    for (const c of answer.citations) {
      const li = el("li");
      const href = c.url ? safeHref(c.url) : null;
      const a = href ? el("a", c.title) : el("span", c.title);
      if (href) { a.href = href; a.rel = "noopener noreferrer"; a.target = "_blank"; }
      li.appendChild(a);
      li.appendChild(el("span", ` (${c.source})`, "meta"));
      cites.appendChild(li);
    }
    turn.appendChild(cites);
  }
  turn.dataset.state = "done";
}

async function ask(question) {
  const log = document.getElementById("chat-log");
  const turn = el("div", null, "turn");
  turn.dataset.state = "streaming";
  turn.appendChild(el("div", question, "question"));
  const text = el("div", "", "answer");
  turn.appendChild(text);
  log.appendChild(turn);
  const resp = await fetch("/v1/chat", {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify({ message: question, conversation_id: conversationId }),
  });
  if (!resp.ok) throw new ApiError(resp.status, await problemDetail(resp));
  for await (const { event, data } of sseEvents(resp)) {
    const payload = JSON.parse(data);
    if (event === "token") {
      text.textContent += payload.text;
    } else if (event === "answer") {
      conversationId = payload.conversation_id || conversationId;
      showAnswer(turn, payload);
    } else if (event === "error") {
      turn.appendChild(el("div", payload.message, "error"));
      turn.dataset.state = "error";
    }
    log.scrollTop = log.scrollHeight;
  }
  if (turn.dataset.state === "streaming") turn.dataset.state = "done";
}

// --- wiring ----------------------------------------------------------------------------

async function loadAll() {
  if (!apiKey()) {
    setStatus("Enter an API key (cryptosense keys create --scopes read,chat) to load data.");
    return;
  }
  setStatus("loading…");
  const parts = { charts: loadCharts, signals: loadSignals, stories: loadStories,
    briefing: loadBriefing };
  const failed = [];
  await Promise.all(Object.entries(parts).map(([name, load]) => load().catch(e => {
    failed.push(`${name}: ${e.message}`);
  })));
  if (failed.length) setStatus(failed.join("; "), true);
  else setStatus("updated " + new Date().toISOString().slice(11, 19) + " UTC");
  document.body.dataset.loaded = "true";
}

document.addEventListener("DOMContentLoaded", () => {
  const keyInput = document.getElementById("key-input");
  keyInput.value = apiKey() ? "••••••••" : "";
  document.getElementById("key-form").addEventListener("submit", ev => {
    ev.preventDefault();
    const value = keyInput.value.trim();
    if (value && !value.startsWith("••")) localStorage.setItem(KEY_NAME, value);
    keyInput.value = apiKey() ? "••••••••" : "";
    loadAll();
  });
  document.getElementById("key-forget").addEventListener("click", () => {
    localStorage.removeItem(KEY_NAME);
    keyInput.value = "";
    setStatus("key forgotten");
  });
  document.getElementById("chat-form").addEventListener("submit", ev => {
    ev.preventDefault();
    const input = document.getElementById("chat-input");
    const question = input.value.trim();
    if (!question) return;
    input.value = "";
    ask(question).catch(e => setStatus("chat: " + e.message, true));
  });
  loadAll();
});
