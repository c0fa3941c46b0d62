// The picometrics explorer: reads api/v1/overview and api/v1/function from the server that
// serves this page and draws the table, charts and caller graph as plain DOM and SVG.
// Every string shown comes from instrumented code or devices, so text is only ever set with
// textContent and attributes, never parsed as HTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const state = {
  overview: null,
  selected: null, // {function, module, device}
  sort: { key: "function", ascending: true },
  filter: "",
  device: "",
  failures: 0,
};

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined && v !== false) node.setAttribute(k, String(v));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

const $ = (id) => document.getElementById(id);

/** Seconds as "812 ns", "4.20 µs", "13.5 ms", "2.00 s" (or "–"). */
function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const [value, unit] =
    seconds < 1e-6 ? [seconds * 1e9, "ns"] : seconds < 1e-3 ? [seconds * 1e6, "µs"] : seconds < 1 ? [seconds * 1e3, "ms"] : [seconds, "s"];
  return `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${unit}`;
}

/**
 * A quantile as far as the buckets know it (the server's text: "< 5 ms", "7.50 ms", "> 10 s"),
 * its bucket in the tooltip.
 */
function quantileCell(q, muted, note) {
  if (!q) return el("td", { class: `number${muted}`, title: note }, "–");
  const how = q.kind === "between" ? `interpolated inside ${q.bucket}` : `somewhere in ${q.bucket}: the buckets tell no more`;
  return el("td", { class: `number quantile ${q.kind}${muted}`, title: note ? `${how}; ${note}` : how }, q.text);
}

function rate(r) {
  if (r === null || r === undefined) return "–";
  return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
}

function percent(ratio) {
  return ratio === null || ratio === undefined ? "–" : `${(ratio * 100).toFixed(1)} %`;
}

function objectiveText(o) {
  if (!o) return "";
  const parts = [];
  if (o.success_percentile !== null) parts.push(`${o.success_percentile} % ok`);
  if (o.latency_threshold_seconds !== null) parts.push(`${o.latency_percentile} % ≤ ${duration(o.latency_threshold_seconds)}`);
  return `${o.name}: ${parts.join(", ")}`;
}

function sameSeries(a, b) {
  return a && b && a.function === b.function && a.module === b.module && (a.device || "") === (b.device || "");
}

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

// ---- the table ----

function visibleRows() {
  const o = state.overview;
  const needle = state.filter.toLowerCase();
  return o.functions.filter(
    (f) =>
      (!state.device || f.device === state.device) &&
      (!needle || f.function.toLowerCase().includes(needle) || f.module.toLowerCase().includes(needle)),
  );
}

function compare(a, b) {
  const key = state.sort.key;
  const value = (r) => (key === "objective" ? (r.objective ? r.objective.name : "") : r[key]);
  const [x, y] = [value(a), value(b)];
  let order;
  if (x === y) order = 0;
  else if (x === null || x === undefined) order = 1; // unknown values last, either way
  else if (y === null || y === undefined) order = -1;
  else order = (typeof x === "number" ? x - y : String(x).localeCompare(String(y))) * (state.sort.ascending ? 1 : -1);
  return order || a.function.localeCompare(b.function) || String(a.device).localeCompare(String(b.device));
}

function renderTable() {
  const table = $("functions");
  for (const body of table.querySelectorAll("tbody")) body.remove();
  const rows = visibleRows();
  $("empty").hidden = rows.length > 0;
  const columns = table.querySelectorAll("thead th").length;
  const modules = [...new Set(rows.map((r) => r.module))].sort();
  for (const module of modules) {
    const body = el("tbody", { "data-module": module });
    body.append(el("tr", { class: "module" }, el("th", { colspan: columns }, module)));
    for (const r of rows.filter((r) => r.module === module).sort(compare)) {
      const errorClass = r.error_ratio > 0.05 ? "number bad" : "number";
      // Values over all calls so far (nothing in the window) are shown muted.
      const muted = r.window ? "" : " muted";
      const title = r.window ? null : "no calls lately: over all calls so far";
      const tr = el(
        "tr",
        { class: sameSeries(r, state.selected) ? "function selected" : "function", "data-function": r.function, "data-module": r.module, "data-device": r.device || "" },
        el("td", { class: "name" }, r.function),
        el("td", { class: "device-column" }, r.device || ""),
        el("td", { class: "number calls" }, String(r.calls)),
        el("td", { class: "number rate" }, rate(r.rate)),
        el("td", { class: `${errorClass} errors${muted}`, title }, percent(r.error_ratio)),
        quantileCell(r.quantiles.p50, muted, title),
        quantileCell(r.quantiles.p95, muted, title),
        quantileCell(r.quantiles.p99, muted, title),
        el("td", { class: "number worst-column", title: "the longest call since start (track_max)" }, r.worst === null ? "" : duration(r.worst)),
        el("td", { class: "number" }, r.concurrent === null ? "" : String(r.concurrent)),
        el("td", {}, objectiveText(r.objective)),
      );
      tr.addEventListener("click", () => select({ function: r.function, module: r.module, device: r.device || "" }));
      body.append(tr);
    }
    table.append(body);
  }
  for (const th of table.querySelectorAll("thead th")) {
    const sorted = th.dataset.sort === state.sort.key;
    th.classList.toggle("sorted", sorted);
    th.classList.toggle("ascending", sorted && state.sort.ascending);
  }
}

function renderHeader() {
  const o = state.overview;
  const build = o.builds.find((b) => (b.device || "") === state.device) || o.builds[0];
  const service = build ? build.service_name : o.service_name;
  $("service").textContent = service || "picometrics";
  document.title = `${service} · picometrics explorer`;
  $("build").textContent = build
    ? [build.version && `v${build.version}`, build.commit && build.commit.slice(0, 10), build.branch].filter(Boolean).join(" · ")
    : "";
  const picker = $("device");
  $("device-picker").hidden = o.devices.length === 0;
  document.body.classList.toggle("hidden-column", o.devices.length === 0);
  // The worst-case column only when some function keeps it (`track_max`).
  document.body.classList.toggle("no-worst", !o.functions.some((f) => f.worst !== null));
  const wanted = ["", ...o.devices];
  if ([...picker.options].map((x) => x.value).join("\n") !== wanted.join("\n")) {
    picker.replaceChildren(...wanted.map((d) => el("option", { value: d }, d || "all devices")));
    picker.value = wanted.includes(state.device) ? state.device : "";
  }
  const prometheus = $("prometheus");
  prometheus.hidden = !o.prometheus_url;
  if (o.prometheus_url) prometheus.href = o.prometheus_url;
  // The dashboards of `dashboards/`: the fleet's when there are devices, else the overview.
  const grafana = $("grafana");
  grafana.hidden = !o.grafana;
  if (o.grafana) grafana.href = o.devices.length ? o.grafana.devices : o.grafana.overview;
  $("interval").textContent = duration(o.interval_seconds);
  $("history").textContent = duration(o.history_seconds);
  $("window").textContent = duration(o.window_seconds);
  const untracked = $("untracked");
  untracked.hidden = !o.untracked;
  untracked.textContent = `${o.untracked} more series are not tracked (the history's series limit).`;
}

// ---- charts ----

/** A line chart of `points` (each {t, …}) for each of `lines` ({key, label}). */
function lineChart(svg, points, lines, format, threshold) {
  const [width, height, left, right, top, bottom] = [600, 180, 58, 10, 10, 38];
  svg.replaceChildren();
  const values = points.flatMap((p) => lines.map((l) => p[l.key]).filter((v) => v !== null && v !== undefined));
  const highest = Math.max(...values, 0);
  // An objective far above the data would flatten it: it is then named, not drawn.
  const drawThreshold = threshold && (threshold <= highest * 2 || highest === 0);
  let max = Math.max(highest, drawThreshold ? threshold : 0);
  if (!(max > 0)) max = 1;
  max *= 1.1;
  const t0 = points.length ? points[0].t : 0;
  const t1 = points.length > 1 ? points[points.length - 1].t : t0 + 1;
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (width - left - right);
  const y = (v) => top + (1 - v / max) * (height - top - bottom);
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    svg.append(el("svg:line", { class: "grid", x1: left, x2: width - right, y1: y(v), y2: y(v) }));
    svg.append(el("svg:text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, format(v)));
  }
  if (points.length > 1) {
    const seconds = Math.round((t1 - t0) / 1000);
    svg.append(el("svg:text", { x: left, y: height - bottom + 14 }, `−${seconds} s`));
    svg.append(el("svg:text", { x: width - right, y: height - bottom + 14, "text-anchor": "end" }, "now"));
  }
  if (drawThreshold) {
    svg.append(el("svg:line", { class: "threshold", x1: left, x2: width - right, y1: y(threshold), y2: y(threshold) }));
  }
  if (threshold) {
    const note = `objective ${format(threshold)}${drawThreshold ? " (dashed)" : " (above the chart)"}`;
    svg.append(el("svg:text", { x: width - right, y: height - 5, "text-anchor": "end" }, note));
  }
  let drawn = 0;
  lines.forEach((line, i) => {
    // A gap (no calls in an interval) splits the line.
    let run = [];
    const flush = () => {
      if (run.length > 1) svg.append(el("svg:polyline", { class: `line s${i}`, points: run.join(" ") }));
      if (run.length === 1) svg.append(el("svg:circle", { class: `s${i}`, r: 2, cx: run[0].split(",")[0], cy: run[0].split(",")[1] }));
      run = [];
    };
    for (const p of points) {
      const v = p[line.key];
      if (v === null || v === undefined) flush();
      else {
        run.push(`${x(p.t).toFixed(1)},${y(v).toFixed(1)}`);
        drawn++;
      }
    }
    flush();
    const legendX = left + i * 110;
    const legend = el("svg:g", { class: "legend" });
    legend.append(el("svg:rect", { class: `s${i}`, x: legendX, y: height - 14, width: 10, height: 10 }));
    legend.append(el("svg:text", { x: legendX + 14, y: height - 5 }, line.label));
    svg.append(legend);
  });
  svg.dataset.points = String(drawn);
}

/** Callers on the left, the function in the middle, callees on the right. */
function callGraph(svg, detail) {
  svg.replaceChildren();
  const [width, boxWidth, boxHeight, gap] = [900, 220, 26, 10];
  const [callerX, selfX, calleeX] = [10, 340, 670];
  const most = 7;
  const side = (edges) => {
    const shown = edges.slice().sort((a, b) => b.calls - a.calls).slice(0, most);
    if (edges.length > most) shown.push({ more: edges.length - most });
    return shown;
  };
  const callers = side(detail.callers);
  const callees = side(detail.callees);
  const rows = Math.max(callers.length, callees.length, 1);
  const height = Math.max(rows * (boxHeight + gap) + 20, 80);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const node = (x, y, label, title, self) => {
    const g = el("svg:g", { class: self ? "node self" : "node" });
    g.append(el("svg:title", {}, title));
    g.append(el("svg:rect", { x, y, width: boxWidth, height: boxHeight, rx: 4 }));
    const text = label.length > 30 ? `${label.slice(0, 29)}…` : label;
    g.append(el("svg:text", { x: x + 8, y: y + 17 }, text));
    svg.append(g);
  };
  const centerY = height / 2 - boxHeight / 2;
  const column = (edges, x, toCenter) => {
    const top = (height - edges.length * (boxHeight + gap)) / 2;
    edges.forEach((e, i) => {
      const y = top + i * (boxHeight + gap);
      const [x1, y1, x2, y2] = toCenter
        ? [x + boxWidth, y + boxHeight / 2, selfX, centerY + boxHeight / 2]
        : [selfX + boxWidth, centerY + boxHeight / 2, x, y + boxHeight / 2];
      if (e.more) {
        svg.append(el("svg:text", { x: x + 8, y: y + 17 }, `… ${e.more} more`));
        return;
      }
      const name = e.function ? e.function : "(not instrumented)";
      svg.append(el("svg:path", { class: e.errors ? "edge erroring" : "edge", d: `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}` }));
      node(x, y, name, `${e.module ? `${e.module}::` : ""}${name}: ${e.calls} calls, ${e.errors} errors`, false);
      // The count sits on the edge beside the outer box, where edges do not cross yet.
      const [labelX, labelY, anchor] = toCenter ? [x1 + 6, y1 - 4, "start"] : [x2 - 6, y2 - 4, "end"];
      svg.append(el("svg:text", { class: "count", x: labelX, y: labelY, "text-anchor": anchor }, `${e.calls}${e.errors ? ` (${e.errors} err)` : ""}`));
    });
  };
  column(callers, callerX, true);
  column(callees, calleeX, false);
  node(selfX, centerY, detail.function, `${detail.module}::${detail.function}`, true);
}

function renderObjective(detail) {
  const box = $("objective");
  box.replaceChildren();
  const o = detail.objective;
  if (!o) {
    box.append(el("p", { class: "muted" }, "No objective. Add one with #[picometrics(objective = …)]."));
    return;
  }
  box.append(el("p", {}, el("strong", {}, o.name)));
  const budget = (label, spent) => {
    const div = el("div", { class: "budget" }, `${label}: `, el("strong", {}, spent === null ? "no calls yet" : `${(spent * 100).toFixed(1)} % of the error budget spent`));
    const bar = el("div", { class: "bar" });
    const fill = el("div", { class: spent >= 1 ? "over" : spent >= 0.5 ? "warn" : "" });
    fill.style.width = `${Math.min(100, (spent || 0) * 100)}%`;
    bar.append(fill);
    div.append(bar);
    box.append(div);
  };
  if (o.success_percentile !== null) budget(`${o.success_percentile} % of calls succeed`, detail.budget.success);
  if (o.latency_threshold_seconds !== null) {
    budget(`${o.latency_percentile} % of calls take ≤ ${duration(o.latency_threshold_seconds)}`, detail.budget.latency);
  }
  box.append(el("p", { class: "muted" }, `Over the history shown (${detail.budget.calls} calls).`));
}

function renderQueries(detail) {
  $("queries").replaceChildren(
    ...detail.queries.map((q) =>
      el("li", {}, q.link ? el("a", { href: q.link, target: "_blank", rel: "noopener" }, q.title) : q.title, el("code", {}, q.query)),
    ),
  );
}

function renderDetail(detail) {
  $("detail").hidden = false;
  $("detail-function").textContent = detail.function;
  $("detail-module").textContent = `${detail.module}${detail.device ? ` · ${detail.device}` : ""}`;
  lineChart($("chart-rate"), detail.points, [{ key: "rate", label: "calls/s" }], rate);
  lineChart($("chart-errors"), detail.points, [{ key: "error_ratio", label: "errors" }], percent);
  const threshold = detail.objective ? detail.objective.latency_threshold_seconds : null;
  lineChart(
    $("chart-latency"),
    detail.points,
    [
      { key: "p50", label: "p50" },
      { key: "p95", label: "p95" },
      { key: "p99", label: "p99" },
    ],
    duration,
    threshold,
  );
  callGraph($("graph"), detail);
  renderObjective(detail);
  renderQueries(detail);
  const dashboard = $("dashboard");
  dashboard.hidden = !detail.dashboard;
  if (detail.dashboard) dashboard.href = detail.dashboard;
}

// ---- state and refresh ----

function select(series) {
  state.selected = series;
  const params = new URLSearchParams({ function: series.function, module: series.module });
  if (series.device) params.set("device", series.device);
  history.replaceState(null, "", `#${params}`);
  renderTable();
  refreshDetail();
}

async function refreshDetail() {
  const s = state.selected;
  if (!s) return;
  const params = new URLSearchParams({ function: s.function, module: s.module });
  if (s.device) params.set("device", s.device);
  try {
    const detail = await getJson(`api/v1/function?${params}`);
    if (sameSeries(detail, state.selected)) renderDetail(detail);
  } catch (e) {
    // The series left (a device was forgotten): show the table only.
    $("detail").hidden = true;
  }
}

async function refresh() {
  try {
    state.overview = await getJson("api/v1/overview");
    state.failures = 0;
    renderHeader();
    renderTable();
    await refreshDetail();
    $("status").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    state.failures++;
    $("status").textContent = `cannot reach the server (${e.message}); retrying`;
  }
  const every = state.overview ? Math.max(1, state.overview.interval_seconds) : 1;
  setTimeout(refresh, Math.min(30, every * (1 + state.failures)) * 1000);
}

function start() {
  const fromHash = new URLSearchParams(location.hash.slice(1));
  if (fromHash.get("function") && fromHash.get("module")) {
    state.selected = { function: fromHash.get("function"), module: fromHash.get("module"), device: fromHash.get("device") || "" };
  }
  $("filter").addEventListener("input", (e) => {
    state.filter = e.target.value;
    if (state.overview) renderTable();
  });
  $("device").addEventListener("change", (e) => {
    state.device = e.target.value;
    if (state.overview) {
      renderHeader();
      renderTable();
    }
  });
  for (const th of document.querySelectorAll("#functions thead th")) {
    th.addEventListener("click", () => {
      const key = th.dataset.sort;
      // Numbers start highest first, names A to Z.
      const numeric = th.classList.contains("number");
      state.sort = key === state.sort.key ? { key, ascending: !state.sort.ascending } : { key, ascending: !numeric };
      if (state.overview) renderTable();
    });
  }
  refresh();
}

start();
