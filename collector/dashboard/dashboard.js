// The tcpstate dashboard: plain script over the collector's JSON API, uPlot for charts, refreshed live.

(() => {
  const REFRESH_MS = 5000;
  const $ = (id) => document.getElementById(id);
  const state = { selected: null, charts: {} };

  const num = (v, digits = 0) => (v == null ? "" : Number(v).toFixed(digits));
  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }
  function fill(tableId, rows, render) {
    const body = $(tableId).tBodies[0];
    body.replaceChildren(
      ...rows.map((r) => {
        const tr = document.createElement("tr");
        tr.append(...render(r, tr));
        return tr;
      }),
    );
  }
  async function getJson(path) {
    const res = await fetch(path);
    if (!res.ok)
      throw new Error(`${path}: ${res.status} ${(await res.json().catch(() => ({}))).error ?? ""}`);
    return res.json();
  }
  const gauge = (p, s) => {
    const v = p.sockets ? p.sockets[s] : null;
    return v == null ? "" : `${v}${p.estimated.includes(s) ? "~" : ""}`;
  };
  const params = () => {
    const q = new URLSearchParams({ sort: $("sort").value, window: $("window").value, limit: "50" });
    if ($("namespace").value) q.set("namespace", $("namespace").value);
    if ($("show-idle").checked) q.set("idle", "show");
    return q;
  };

  async function refreshPods() {
    const body = await getJson(`api/v1/pods?${params()}`);
    const hidden = body.hiddenIdle ?? 0;
    $("hidden-idle").textContent =
      hidden > 0 ? `(${hidden} idle hidden: no transitions, sockets or listeners in the window)` : "";
    fill("pods", body.pods, (p, tr) => {
      const id = `${p.namespace}/${p.name}`;
      tr.dataset.pod = id;
      if (id === state.selected) tr.classList.add("selected");
      tr.addEventListener("click", () => select(p));
      const c = p.counters;
      return [
        cell(p.namespace || `(${p.kind})`),
        cell(p.name),
        cell(p.node),
        cell(num(p.churnPerSecond, 1), "n"),
        cell(num(c.active_opens + c.passive_opens), "n"),
        cell(num(c.closes), "n"),
        cell(num(c.failed_connects), "n"),
        cell(num(c.resets), "n"),
        cell(gauge(p, "ESTABLISHED"), "n"),
        cell(gauge(p, "TIME_WAIT"), "n"),
        cell(gauge(p, "SYN_RECV"), "n"),
        cell(gauge(p, "CLOSE_WAIT"), "n"),
      ];
    });
    // The first pod is shown by default; refresh() fetches its detail next.
    const first = body.pods.find((p) => p.kind === "pod");
    if (!state.selected && first) mark(first);
  }

  /** Makes `p` the pod whose detail is shown, highlighted in the table. */
  function mark(p) {
    state.selected = `${p.namespace}/${p.name}`;
    for (const tr of $("pods").tBodies[0].rows)
      tr.classList.toggle("selected", tr.dataset.pod === state.selected);
  }

  function select(p) {
    if (p.kind !== "pod") return;
    mark(p);
    refreshDetail().catch(showError);
  }

  function chart(id, series, data) {
    const el = $(id);
    const opts = {
      width: Math.max(300, el.clientWidth || 500),
      height: 220,
      series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 1.5 }))],
      axes: [{}, { size: 60 }],
    };
    if (state.charts[id] && state.charts[id].series.length === opts.series.length)
      state.charts[id].setData(data);
    else {
      state.charts[id]?.destroy();
      state.charts[id] = new uPlot(opts, data, el);
    }
  }

  async function refreshDetail() {
    if (!state.selected) return;
    const [ns, name] = state.selected.split("/");
    const p = await getJson(
      `api/v1/pods/${encodeURIComponent(ns)}/${encodeURIComponent(name)}?window=${$("window").value}`,
    );
    $("detail").hidden = false;
    $("detail-title").textContent =
      `${p.namespace}/${p.name} on ${p.node}${p.workload ? ` (${p.workload})` : ""}`;
    const t = p.series.map((s) => s.windowEnd / 1000);
    chart("chart-churn", [["churn/s", "#3366cc"]], [t, p.series.map((s) => s.churnPerSecond)]);
    const states = [
      ["ESTABLISHED", "#2a9d8f"],
      ["TIME_WAIT", "#e76f51"],
      ["SYN_RECV", "#8338ec"],
      ["CLOSE_WAIT", "#f4a261"],
    ];
    chart("chart-sockets", states, [
      t,
      ...states.map(([s]) => p.series.map((x) => (x.sockets ? x.sockets[s] : null))),
    ]);
    fill("listeners", p.listeners, (l) => [
      cell(l.address),
      cell(l.port, "n"),
      cell(l.synQueue, "n"),
      cell(l.acceptQueue, "n"),
      cell(l.backlog, "n"),
    ]);
    const dest = new Map();
    for (const d of p.topDestinations.connects)
      dest.set(d.endpoint, { ...d, connects: d.count, timeWait: 0 });
    for (const d of p.topDestinations.timeWait)
      dest.set(d.endpoint, { ...d, connects: dest.get(d.endpoint)?.connects ?? 0, timeWait: d.count });
    fill("destinations", [...dest.values()], (d) => [
      cell(d.endpoint),
      cell(d.peer ?? ""),
      cell(d.connects, "n"),
      cell(d.timeWait, "n"),
    ]);
  }

  async function refreshRollups() {
    const w = $("window").value;
    const [namespaces, workloads, nodes] = await Promise.all([
      getJson(`api/v1/namespaces?window=${w}`),
      getJson(`api/v1/workloads?window=${w}`),
      getJson(`api/v1/nodes?window=${w}`),
    ]);
    const select = $("namespace");
    const known = new Set([...select.options].map((o) => o.value));
    for (const n of namespaces.namespaces) if (!known.has(n.key)) select.add(new Option(n.key, n.key));
    const roll = (r, label) => [
      cell(label),
      cell(r.pods, "n"),
      cell(num(r.churnPerSecond, 1), "n"),
      cell(r.sockets.TIME_WAIT, "n"),
      cell(r.sockets.SYN_RECV, "n"),
    ];
    fill("namespaces", namespaces.namespaces, (r) => roll(r, r.key));
    fill("workloads", workloads.workloads, (r) =>
      roll(r, `${r.namespace}/${r.workload.kind}/${r.workload.name}`),
    );
    fill("nodes", nodes.nodes, (n) => [
      cell(n.node),
      cell(new Date(n.lastSeen).toLocaleTimeString()),
      cell(num(n.lagMs / 1000, 1), "n"),
      cell(n.health.bpftraceUp ? "up" : "DOWN"),
      cell(n.health.kernelMissed, "n"),
      cell(n.health.lostEvents, "n"),
      cell(n.windows, "n"),
      cell(n.incompleteWindows, "n"),
    ]);
  }

  async function refreshAlerts() {
    const res = await fetch("api/v1/alerts?state=all");
    if (!res.ok) return;
    const body = await res.json();
    const alerts = body.alerts ?? [];
    $("alerts-section").hidden = alerts.length === 0;
    fill("alerts", alerts, (a) => [
      cell(a.state, a.state),
      cell(a.labels.alertname),
      cell(a.labels.severity),
      cell(`${a.labels.namespace}/${a.labels.pod}`),
      cell(a.annotations?.summary ?? ""),
      cell(a.activeAt || a.startsAt ? new Date(a.activeAt ?? a.startsAt).toLocaleTimeString() : ""),
    ]);
  }

  function showError(err) {
    $("status").textContent = `error: ${err.message}`;
  }

  async function refresh() {
    try {
      await Promise.all([refreshPods(), refreshRollups(), refreshAlerts()]);
      await refreshDetail();
      $("status").textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      showError(err);
    }
  }

  for (const id of ["namespace", "sort", "window", "show-idle"])
    $(id).addEventListener("change", () => {
      state.selected = null;
      refresh();
    });
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
