/*
 * Fairload status page. Plain JavaScript, no build step; charts by uPlot (served from the same jar).
 *
 * Data: the admin API only, polled once a second (GET /api/metrics, /api/metrics/servers, /api/metrics/history,
 * /api/events), the configuration every ten seconds and after each change. The token is kept in sessionStorage
 * (this tab only) and sent as "Authorization: Bearer"; it never goes into a URL or the page.
 *
 * For tests and scripts: #rendered holds the /api/metrics data the tiles show now (JSON), and each tile's text is
 * derived from it by the formatters below; <html data-ticks> counts the completed refreshes and data-render-ms
 * says how long the last one took to render.
 */
(function () {
  'use strict';

  var TOKEN_KEY = 'fairload.adminToken';
  var POLL_MS = 1000;
  var CONFIG_EVERY = 10;
  var WINDOW_S = 15 * 60;

  var script = document.currentScript;
  var apiBase = new URL('../', script ? script.src : location.href).href; // .../api/

  var $ = function (id) { return document.getElementById(id); };
  var state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    tokenRequired: null,
    ticks: 0,
    timer: null,
    paused: false,
    historySeq: 0,
    eventSeq: 0,
    events: [],
    history: { t: [], rate: [], err: [], p50: [], p99: [] },
    servers: new Map(),  // id -> latest entry
    rows: new Map(),     // id -> { tr, cells, prev }
    order: [],
    sort: { key: 'id', dir: 1 },
    selected: null,
    charts: null,
    busy: false,
    removeArmed: false
  };

  // API --------------------------------------------------------------------------------------------------------

  function ApiError(status, message) {
    this.status = status;
    this.message = message;
  }

  function api(method, path, body) {
    var headers = { 'Accept': 'application/json' };
    if (state.token) headers['Authorization'] = 'Bearer ' + state.token;
    var init = { method: method, headers: headers, cache: 'no-store', credentials: 'omit' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(apiBase + path, init).then(function (r) {
      return r.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
        if (!r.ok || !json || json.success === false) {
          var message = json && json.error ? json.error : ('HTTP ' + r.status);
          throw new ApiError(r.status, message);
        }
        return json;
      });
    }, function () {
      throw new ApiError(0, 'the proxy does not answer');
    });
  }

  // Formatting (tests derive the expected tile text from /api/metrics with the same rules) --------------------

  function fmtInt(v) { return v == null ? '–' : Number(v).toLocaleString('en-US'); }
  function fmtRate(v) { return v == null ? '–' : Number(v).toFixed(1); }
  function fmtPercent(v) { return v == null ? '–' : (v * 100).toFixed(2) + ' %'; }
  function fmtMs(v) {
    if (v == null) return '–';
    var d = v < 10 ? 2 : v < 100 ? 1 : 0;
    return v.toFixed(d) + ' ms';
  }
  function fmtMsBare(v) {
    if (v == null) return '–';
    return v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0);
  }
  function fmtTime(iso) {
    if (!iso) return '–';
    var d = new Date(iso);
    return d.toLocaleTimeString('en-GB', { hour12: false });
  }
  function fmtAgo(iso, now) {
    if (!iso) return 'never';
    var s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    return Math.floor(s / 3600) + ' h ago';
  }
  function text(el, value) {
    if (el.textContent !== value) el.textContent = value;
  }

  // Sign-in ----------------------------------------------------------------------------------------------------

  function showLogin(message) {
    stopPolling();
    $('dashboard').hidden = true;
    $('signout').hidden = true;
    $('pause').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    setOverall('unknown', 'Signed out');
    $('token').focus();
  }

  function showDashboard() {
    $('login').hidden = true;
    $('dashboard').hidden = false;
    $('signout').hidden = !state.tokenRequired;
    $('pause').hidden = false;
    ensureCharts();
  }

  $('login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var input = $('token');
    var candidate = input.value.trim();
    if (!candidate) return;
    $('login-submit').disabled = true;
    state.token = candidate;
    api('GET', 'metrics').then(function () {
      sessionStorage.setItem(TOKEN_KEY, candidate);
      input.value = '';
      $('login-error').textContent = '';
      state.tokenRequired = true;
      begin();
    }, function (err) {
      state.token = null;
      $('login-error').textContent = err.status === 401 ? 'Refused: ' + err.message : err.message;
      input.select();
    }).then(function () { $('login-submit').disabled = false; });
  });

  $('signout').addEventListener('click', function () {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    showLogin('Signed out.');
  });

  $('pause').addEventListener('click', function () {
    state.paused = !state.paused;
    this.setAttribute('aria-pressed', String(state.paused));
    this.textContent = state.paused ? 'Resume' : 'Pause';
    if (!state.paused) schedule(0);
  });

  // Polling ----------------------------------------------------------------------------------------------------

  function stopPolling() {
    if (state.timer) clearTimeout(state.timer);
    state.timer = null;
  }

  function schedule(ms) {
    stopPolling();
    state.timer = setTimeout(tick, ms);
  }

  function begin() {
    showDashboard();
    refreshConfig();
    schedule(0);
  }

  function tick() {
    state.timer = null;
    if (state.paused) return;
    refresh().then(function () {
      schedule(POLL_MS);
    }, function (err) {
      if (err && err.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        state.token = null;
        state.tokenRequired = true;
        showLogin('The token was refused: ' + err.message);
        return;
      }
      setOverall('offline', 'Offline');
      text($('updated'), err && err.message ? err.message : 'update failed');
      schedule(POLL_MS * 2);
    });
  }

  function refresh() {
    return Promise.all([
      api('GET', 'metrics'),
      api('GET', 'metrics/servers'),
      api('GET', 'metrics/history?after=' + state.historySeq),
      api('GET', 'events?after=' + state.eventSeq)
    ]).then(function (r) {
      var started = performance.now();
      var now = Date.now();
      renderMetrics(r[0].data);
      renderServers(r[1].data, now);
      renderHistory(r[2].data);
      renderEvents(r[3].data);
      state.ticks++;
      document.documentElement.setAttribute('data-ticks', String(state.ticks));
      document.documentElement.setAttribute('data-render-ms', (performance.now() - started).toFixed(1));
      text($('updated'), 'Updated ' + new Date(now).toLocaleTimeString('en-GB', { hour12: false }));
      if (state.ticks % CONFIG_EVERY === 0) refreshConfig();
    });
  }

  // Summary ----------------------------------------------------------------------------------------------------

  var tiles = {};
  Array.prototype.forEach.call(document.querySelectorAll('[data-metric]'), function (el) {
    tiles[el.getAttribute('data-metric')] = el;
  });

  function setOverall(stateName, label) {
    var el = $('overall');
    el.setAttribute('data-state', stateName);
    text(el, label);
  }

  function renderMetrics(m) {
    text(tiles.requestsPerSecond, fmtRate(m.requestsPerSecond));
    text(tiles.errorRate, fmtPercent(m.errorRate));
    text(tiles.p50, fmtMs(m.responseTimePercentiles.p50));
    text(tiles.p99, fmtMs(m.responseTimePercentiles.p99));
    text(tiles.activeConnections, fmtInt(m.activeConnections));
    text(tiles.servers, m.activeServers + ' / ' + m.totalServers);
    text(tiles.totalRequests, fmtInt(m.totalRequests));
    text(tiles.failedRequests, fmtInt(m.failedRequests));
    text($('rendered'), JSON.stringify(m));
    text($('uptime'), 'Up ' + m.uptime);
    if (m.totalServers === 0) setOverall('unhealthy', 'No servers');
    else if (m.activeServers === m.totalServers) setOverall('healthy', 'Healthy');
    else if (m.activeServers === 0) setOverall('unhealthy', 'No healthy server');
    else setOverall('degraded', 'Degraded: ' + m.unhealthyServers + ' out');
  }

  // Charts -----------------------------------------------------------------------------------------------------

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function powersOfTen(u, splits) {
    return splits.map(function (v) { return Math.abs(Math.log10(v) % 1) < 1e-9 ? v : null; });
  }

  function chartOptions(el, series, yFormat, legend, logarithmic) {
    var axis = { stroke: css('--muted'), grid: { stroke: css('--chart-grid'), width: 1 }, ticks: { stroke: css('--chart-grid'), width: 1 }, font: '11px system-ui, sans-serif' };
    return {
      width: Math.max(200, el.clientWidth),
      height: legend ? 150 : 170,
      legend: { show: legend, live: true },
      cursor: { drag: { x: false, y: false }, points: { size: 5 } },
      padding: [8, 8, 0, 0],
      scales: {
        // The last 15 minutes, or since the first sample when the proxy is younger (at least one minute).
        x: { time: true, range: function (u) {
          var n = Date.now() / 1000;
          var first = state.history.t.length ? state.history.t[0] : n;
          return [Math.min(n - 60, Math.max(n - WINDOW_S, first)), n];
        } },
        // Latency on a log scale, so a slow second does not flatten the rest; rates from zero.
        y: logarithmic
          ? { distr: 3, log: 10 }
          : { range: function (u, min, max) { return [0, max > 0 ? max * 1.15 : 1]; } }
      },
      axes: [
        Object.assign({}, axis, { space: 60, values: function (u, vals) {
          var seconds = vals.length > 1 && vals[1] - vals[0] < 60;
          var fmt = seconds ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false } : { hour: '2-digit', minute: '2-digit', hour12: false };
          return vals.map(function (v) { return new Date(v * 1000).toLocaleTimeString('en-GB', fmt); });
        } }),
        Object.assign({}, axis, { size: 44, values: function (u, vals) { return vals.map(yFormat); } }, logarithmic ? {
          // On the log scale, ticks, grid lines and labels at powers of ten only.
          filter: powersOfTen,
          grid: Object.assign({}, axis.grid, { filter: powersOfTen }),
          ticks: Object.assign({}, axis.ticks, { filter: powersOfTen })
        } : {})
      ],
      series: [{ value: function (u, v) { return v == null ? '–' : new Date(v * 1000).toLocaleTimeString('en-GB', { hour12: false }); } }].concat(series)
    };
  }

  function line(label, color, fmt) {
    return { label: label, stroke: color, width: 1.5, points: { show: false }, spanGaps: false,
      value: function (u, v) { return v == null ? '–' : fmt(v); } };
  }

  function ensureCharts() {
    if (state.charts || typeof uPlot === 'undefined') return;
    var c1 = css('--chart-1');
    var c2 = css('--chart-2');
    var h = state.history;
    var num = function (v) { return v == null ? '' : v >= 1000 ? +(v / 1000).toFixed(1) + 'k' : String(+v.toFixed(2)); };
    var rate = $('chart-rate');
    var err = $('chart-errors');
    var lat = $('chart-latency');
    var rateSeries = line('req/s', c1, function (v) { return v.toFixed(1); });
    rateSeries.fill = c1 + '22';
    state.charts = [
      new uPlot(chartOptions(rate, [rateSeries], num, false), [h.t, h.rate], rate),
      new uPlot(chartOptions(err, [line('errors %', c2, function (v) { return v.toFixed(2) + ' %'; })], num, false), [h.t, h.err], err),
      new uPlot(chartOptions(lat, [line('p50', c1, fmtMs), line('p99', c2, fmtMs)], num, true, true), [h.t, h.p50, h.p99], lat)
    ];
  }

  function redrawCharts() {
    if (!state.charts) return;
    var h = state.history;
    state.charts[0].setData([h.t, h.rate]);
    state.charts[1].setData([h.t, h.err]);
    state.charts[2].setData([h.t, h.p50, h.p99]);
  }

  function resizeCharts() {
    if (!state.charts) return;
    state.charts.forEach(function (c) {
      var w = Math.max(200, c.root.parentNode.clientWidth);
      if (c.width !== w) c.setSize({ width: w, height: c.height });
    });
  }

  if (window.ResizeObserver) {
    new ResizeObserver(function () { resizeCharts(); }).observe($('chart-rate'));
  } else {
    window.addEventListener('resize', resizeCharts);
  }

  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', function () {
    if (!state.charts) return;
    state.charts.forEach(function (c) { c.destroy(); });
    state.charts = null;
    ensureCharts();
  });

  function renderHistory(d) {
    var h = state.history;
    d.samples.forEach(function (s) {
      h.t.push(Date.parse(s.timestamp) / 1000);
      h.rate.push(s.requestsPerSecond);
      h.err.push(s.requests === 0 ? 0 : s.errorRate * 100);
      h.p50.push(s.p50);
      h.p99.push(s.p99);
      state.historySeq = s.seq;
    });
    var cutoff = Date.now() / 1000 - WINDOW_S;
    var drop = 0;
    while (drop < h.t.length && h.t[drop] < cutoff) drop++;
    if (drop > 0) Object.keys(h).forEach(function (k) { h[k].splice(0, drop); });
    ensureCharts();
    redrawCharts();
  }

  // Servers ----------------------------------------------------------------------------------------------------

  var tbody = $('server-rows');
  var COLUMNS = ['id', 'address', 'status', 'weight', 'inFlight', 'rate', 'p99', 'total', 'errors', 'check', 'actions'];

  function shownStatus(s) {
    return s.ejected ? 'ejected' : s.status;
  }

  function sortValue(s, key) {
    switch (key) {
      case 'id': return s.serverId;
      case 'address': return s.host + ':' + String(s.port).padStart(5, '0');
      case 'status': return shownStatus(s);
      case 'weight': return s.weight;
      case 'inFlight': return s.activeConnections;
      case 'rate': return s.requestsPerSecond;
      case 'p99': var p = s.recentResponseTimePercentiles && s.recentResponseTimePercentiles.p99; return p == null ? -1 : p;
      case 'total': return s.totalRequests;
      case 'errors': return s.failedRequests;
      case 'check': return s.lastHealthCheck ? Date.parse(s.lastHealthCheck) : 0;
      default: return 0;
    }
  }

  function makeRow(id) {
    var tr = document.createElement('tr');
    tr.setAttribute('data-server-id', id);
    var cells = {};
    COLUMNS.forEach(function (c) {
      var td = document.createElement('td');
      if (['weight', 'inFlight', 'rate', 'p99', 'total', 'errors'].indexOf(c) >= 0) td.className = 'num';
      if (c === 'address') td.className = 'mono';
      td.setAttribute('data-col', c);
      tr.appendChild(td);
      cells[c] = td;
    });
    var open = document.createElement('button');
    open.type = 'button';
    open.className = 'link';
    open.textContent = id;
    open.setAttribute('aria-label', 'Details of ' + id);
    open.addEventListener('click', function () { select(id); });
    cells.id.appendChild(open);
    var status = document.createElement('span');
    status.className = 'status';
    var sub = document.createElement('span');
    sub.className = 'sub';
    cells.status.appendChild(status);
    cells.status.appendChild(document.createTextNode(' '));
    cells.status.appendChild(sub);
    var drain = document.createElement('button');
    drain.type = 'button';
    drain.className = 'row-drain';
    drain.addEventListener('click', function () {
      var s = state.servers.get(id);
      if (s) setDraining(id, s.status !== 'draining');
    });
    cells.actions.appendChild(drain);
    return { tr: tr, cells: cells, status: status, sub: sub, drain: drain, prev: {} };
  }

  function setCell(row, key, value, el) {
    if (row.prev[key] !== value) {
      row.prev[key] = value;
      (el || row.cells[key]).textContent = value;
    }
  }

  function updateRow(row, s, now) {
    var st = shownStatus(s);
    if (row.prev.st !== st) {
      row.prev.st = st;
      row.status.setAttribute('data-status', st);
      row.status.textContent = st;
    }
    var detail = '';
    if (s.ejected && s.ejectedUntil) detail = 'until ' + fmtTime(s.ejectedUntil);
    else if (s.status === 'unhealthy' && s.lastHealthError) detail = s.lastHealthError;
    setCell(row, 'sub', detail, row.sub);
    setCell(row, 'address', s.host + ':' + s.port);
    setCell(row, 'weight', s.effectiveWeight !== s.weight ? s.weight + ' (eff. ' + s.effectiveWeight + ')' : String(s.weight));
    setCell(row, 'inFlight', fmtInt(s.activeConnections));
    setCell(row, 'rate', fmtRate(s.requestsPerSecond));
    setCell(row, 'p99', fmtMsBare(s.recentResponseTimePercentiles ? s.recentResponseTimePercentiles.p99 : null));
    setCell(row, 'total', fmtInt(s.totalRequests));
    setCell(row, 'errors', s.failedRequests === 0 ? '0' : fmtInt(s.failedRequests) + ' (' + (s.errorRate * 100).toFixed(1) + '%)');
    setCell(row, 'check', fmtAgo(s.lastHealthCheck, now));
    var drainLabel = s.status === 'draining' ? 'Undrain' : 'Drain';
    if (row.prev.drain !== drainLabel) {
      row.prev.drain = drainLabel;
      row.drain.textContent = drainLabel;
      row.drain.setAttribute('aria-label', drainLabel + ' ' + s.serverId);
    }
    var selected = state.selected === s.serverId;
    if (row.prev.selected !== selected) {
      row.prev.selected = selected;
      row.tr.classList.toggle('selected', selected);
    }
  }

  function matchesFilter(s) {
    var q = $('filter').value.trim().toLowerCase();
    var st = $('status-filter').value;
    if (st && shownStatus(s) !== st) return false;
    if (!q) return true;
    return s.serverId.toLowerCase().indexOf(q) >= 0 || (s.host + ':' + s.port).indexOf(q) >= 0;
  }

  function renderServers(list, now) {
    var seen = new Set();
    state.servers = new Map();
    list.forEach(function (s) {
      seen.add(s.serverId);
      state.servers.set(s.serverId, s);
      var row = state.rows.get(s.serverId);
      if (!row) {
        row = makeRow(s.serverId);
        state.rows.set(s.serverId, row);
      }
      updateRow(row, s, now);
    });
    state.rows.forEach(function (row, id) {
      if (!seen.has(id)) {
        row.tr.remove();
        state.rows.delete(id);
      }
    });
    arrange();
    text($('server-count'), '(' + list.length + ')');
    renderDetail(now);
  }

  /** Puts the visible rows in sorted order, touching the DOM only if the order or the filter result changed. */
  function arrange() {
    var key = state.sort.key;
    var dir = state.sort.dir;
    var visible = [];
    state.servers.forEach(function (s) { if (matchesFilter(s)) visible.push(s); });
    visible.sort(function (a, b) {
      var x = sortValue(a, key);
      var y = sortValue(b, key);
      var c = x < y ? -1 : x > y ? 1 : 0;
      if (c === 0) c = a.serverId < b.serverId ? -1 : a.serverId > b.serverId ? 1 : 0;
      return c * dir;
    });
    var order = visible.map(function (s) { return s.serverId; });
    var same = order.length === state.order.length && order.every(function (id, i) { return id === state.order[i]; });
    if (!same) {
      var frag = document.createDocumentFragment();
      order.forEach(function (id) { frag.appendChild(state.rows.get(id).tr); });
      tbody.textContent = '';
      tbody.appendChild(frag);
      state.order = order;
    }
    $('no-servers').hidden = order.length > 0;
  }

  Array.prototype.forEach.call(document.querySelectorAll('th button[data-sort]'), function (b) {
    b.addEventListener('click', function () {
      var key = b.getAttribute('data-sort');
      state.sort = { key: key, dir: state.sort.key === key ? -state.sort.dir : 1 };
      Array.prototype.forEach.call(document.querySelectorAll('th'), function (th) { th.removeAttribute('aria-sort'); });
      b.parentNode.setAttribute('aria-sort', state.sort.dir > 0 ? 'ascending' : 'descending');
      state.order = [];
      arrange();
    });
  });
  $('filter').addEventListener('input', function () { state.order = []; arrange(); });
  $('status-filter').addEventListener('change', function () { state.order = []; arrange(); });

  // Server details and actions ---------------------------------------------------------------------------------

  function select(id) {
    state.selected = id;
    state.removeArmed = false;
    $('detail').hidden = false;
    var s = state.servers.get(id);
    $('weight-input').value = s ? s.weight : '';
    state.rows.forEach(function (row, rid) {
      var sel = rid === id;
      if (row.prev.selected !== sel) { row.prev.selected = sel; row.tr.classList.toggle('selected', sel); }
    });
    renderDetail(Date.now());
    $('weight-input').focus();
  }

  $('detail-close').addEventListener('click', function () {
    var id = state.selected;
    state.selected = null;
    $('detail').hidden = true;
    var row = state.rows.get(id);
    if (row) { row.prev.selected = false; row.tr.classList.remove('selected'); row.cells.id.firstChild.focus(); }
  });

  function fact(dl, name, value) {
    var dt = document.createElement('dt');
    dt.textContent = name;
    var dd = document.createElement('dd');
    dd.textContent = value;
    dl.appendChild(dt);
    dl.appendChild(dd);
  }

  function renderDetail(now) {
    if (!state.selected) return;
    var s = state.servers.get(state.selected);
    var dl = $('detail-facts');
    text($('detail-title'), state.selected);
    if (!s) {
      dl.textContent = '';
      fact(dl, 'Status', 'removed');
      $('weight-form').hidden = true;
      $('drain-button').hidden = true;
      $('remove-button').hidden = true;
      $('remove-confirm').hidden = true;
      return;
    }
    $('weight-form').hidden = false;
    $('drain-button').hidden = false;
    $('remove-button').hidden = state.removeArmed;
    $('remove-confirm').hidden = !state.removeArmed;
    var frag = document.createElement('dl');
    fact(frag, 'Address', s.host + ':' + s.port);
    fact(frag, 'Status', shownStatus(s) + (s.ejected && s.ejectedUntil ? ' until ' + fmtTime(s.ejectedUntil) : ''));
    fact(frag, 'Weight', s.weight + (s.effectiveWeight !== s.weight ? ' (effective ' + s.effectiveWeight + ', slow start)' : ''));
    fact(frag, 'In flight', fmtInt(s.activeConnections));
    fact(frag, 'Requests', fmtInt(s.totalRequests) + ', ' + fmtInt(s.failedRequests) + ' failed');
    fact(frag, 'Req/s (10 s)', fmtRate(s.requestsPerSecond));
    var p = s.recentResponseTimePercentiles || {};
    fact(frag, 'p50 / p99', fmtMs(p.p50) + ' / ' + fmtMs(p.p99));
    fact(frag, 'Last check', s.lastHealthCheck ? fmtTime(s.lastHealthCheck) + ' (' + fmtAgo(s.lastHealthCheck, now) + (s.lastCheckDuration != null ? ', ' + fmtMs(s.lastCheckDuration) : '') + ')' : 'never');
    fact(frag, 'Check error', s.lastHealthError || 'none');
    if (dl.innerHTML !== frag.innerHTML) dl.innerHTML = frag.innerHTML;
    text($('drain-button'), s.status === 'draining' ? 'Undrain' : 'Drain');
  }

  function notify(message, isError) {
    var el = $('notice');
    el.hidden = false;
    el.className = isError ? 'notice error' : 'notice';
    el.setAttribute('role', isError ? 'alert' : 'status');
    el.textContent = message;
  }

  function act(button, work, done) {
    if (state.busy) return;
    state.busy = true;
    if (button) button.disabled = true;
    work().then(function (json) {
      notify(done(json));
      return refresh();
    }).catch(function (err) {
      notify('Refused: ' + (err && err.message ? err.message : String(err)), true);
    }).then(function () {
      state.busy = false;
      if (button) button.disabled = false;
    });
  }

  function setDraining(id, draining) {
    act(null, function () {
      return api('PUT', 'servers/' + encodeURIComponent(id) + '/draining', { draining: draining });
    }, function (json) {
      return draining
        ? id + ' is draining: no new requests; requests in flight finish. Status: ' + json.data.status + '.'
        : id + ' takes requests again. Status: ' + json.data.status + '.';
    });
  }

  $('drain-button').addEventListener('click', function () {
    var s = state.servers.get(state.selected);
    if (s) setDraining(s.serverId, s.status !== 'draining');
  });

  $('weight-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var id = state.selected;
    var raw = $('weight-input').value.trim();
    var weight = Number(raw);
    act($('weight-submit'), function () {
      // Sent as typed (a number when it is one), so the API's own validation answers.
      return api('PUT', 'servers/' + encodeURIComponent(id) + '/weight', { weight: raw !== '' && !isNaN(weight) ? weight : raw });
    }, function (json) {
      return 'Weight of ' + id + ' set to ' + json.data.weight + '.';
    });
  });

  $('remove-button').addEventListener('click', function () {
    state.removeArmed = true;
    $('remove-button').hidden = true;
    $('remove-confirm').hidden = false;
    $('remove-confirm').focus();
  });

  $('remove-confirm').addEventListener('click', function () {
    var id = state.selected;
    state.removeArmed = false;
    act($('remove-confirm'), function () {
      return api('DELETE', 'servers/' + encodeURIComponent(id));
    }, function () {
      $('detail').hidden = true;
      state.selected = null;
      return 'Removed ' + id + '; its requests in flight finish.';
    });
  });

  $('add-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var body = { host: $('add-host').value.trim(), port: Number($('add-port').value) };
    var w = $('add-weight').value.trim();
    if (w) body.weight = Number(w);
    act($('add-submit'), function () {
      return api('POST', 'servers', body);
    }, function (json) {
      $('add-host').value = '';
      $('add-port').value = '';
      $('add-weight').value = '';
      return 'Added ' + json.data.serverId + ' (' + json.data.host + ':' + json.data.port + '), ' + json.data.status + '.';
    });
  });

  $('algorithm-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var name = $('algorithm').value;
    act($('algorithm-submit'), function () {
      return api('PUT', 'algorithm', { algorithm: name });
    }, function (json) {
      renderConfig(json.data);
      return 'Algorithm switched to ' + json.data.algorithm + '.';
    });
  });

  // Configuration, TLS, events ---------------------------------------------------------------------------------

  function refreshConfig() {
    return Promise.all([api('GET', 'config'), api('GET', 'algorithms')]).then(function (r) {
      renderAlgorithms(r[1].data);
      renderConfig(r[0].data);
    }, function () { /* the next poll reports the problem */ });
  }

  /** Shows the algorithm in force when it changes, leaving an operator's pending choice alone otherwise. */
  function syncAlgorithm(current) {
    var select = $('algorithm');
    if (!select.options.length || state.algorithm === current) return;
    state.algorithm = current;
    select.value = current;
  }

  function renderAlgorithms(d) {
    var select = $('algorithm');
    if (select.options.length !== d.algorithms.length) {
      select.textContent = '';
      d.algorithms.forEach(function (a) {
        var o = document.createElement('option');
        o.value = a.name;
        o.textContent = a.name;
        o.title = a.description;
        select.appendChild(o);
      });
    }
    syncAlgorithm(d.current);
  }

  var CONFIG_SHOWN = ['algorithm', 'healthCheckEnabled', 'healthCheckInterval', 'healthCheckTimeout', 'maxRetries',
    'sessionPersistence', 'sslTermination', 'maxConcurrentRequests', 'maxRequestsPerServer', 'connectTimeoutMillis',
    'readTimeoutMillis', 'requestTimeoutMillis', 'retryOnStatus', 'baseEjectionTime', 'preserveHost'];

  function show(v) {
    if (v == null) return '–';
    if (Array.isArray(v)) return v.length ? v.join(', ') : 'none';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  function renderConfig(c) {
    syncAlgorithm(c.algorithm);
    var dl = document.createElement('dl');
    CONFIG_SHOWN.forEach(function (k) { if (k in c) fact(dl, k, show(c[k])); });
    if ($('config').innerHTML !== dl.innerHTML) $('config').innerHTML = dl.innerHTML;
    var certs = c.tlsCertificates || [];
    $('tls').hidden = certs.length === 0;
    var ul = $('tls-list');
    ul.textContent = '';
    certs.forEach(function (t) {
      var li = document.createElement('li');
      var name = document.createElement('div');
      name.textContent = (t.subjectAlternativeNames && t.subjectAlternativeNames.length ? t.subjectAlternativeNames.join(', ') : t.subject) + (t['default'] ? ' (default)' : '');
      var exp = document.createElement('div');
      exp.textContent = 'Expires ' + t.notAfter.slice(0, 10) + ', in ' + t.daysLeft + ' days';
      exp.className = t.daysLeft < 0 ? 'expiry-past' : t.expiresSoon ? 'expiry-soon' : 'muted';
      if (t.daysLeft < 0) exp.textContent = 'Expired ' + t.notAfter.slice(0, 10);
      li.appendChild(name);
      li.appendChild(exp);
      ul.appendChild(li);
    });
  }

  function renderEvents(d) {
    if (d.events.length) {
      state.eventSeq = d.events[0].seq;
      state.events = d.events.concat(state.events).slice(0, 100);
      var ol = $('events');
      ol.textContent = '';
      state.events.forEach(function (e) {
        var li = document.createElement('li');
        var t = document.createElement('time');
        t.dateTime = e.timestamp;
        t.textContent = fmtTime(e.timestamp);
        li.appendChild(t);
        var msg = document.createElement('span');
        var what;
        if (e.type === 'status') {
          what = e.serverId + ': ' + e.from + ' → ' + e.to + (e.reason ? ' (' + e.reason + ')' : '');
          msg.className = e.to === 'healthy' ? 'ok' : e.to === 'unhealthy' ? 'bad' : '';
        } else if (e.type === 'weight') {
          what = e.serverId + ': weight ' + e.from + ' → ' + e.to;
        } else {
          what = e.serverId + ' (' + e.address + ') ' + e.type;
        }
        msg.textContent = what;
        li.appendChild(msg);
        ol.appendChild(li);
      });
    }
    $('no-events').hidden = state.events.length > 0;
    var failed = $('failed');
    var key = d.failedRequests.length ? d.failedRequests[0].timestamp + d.failedRequests.length : '';
    if (failed.getAttribute('data-key') !== key) {
      failed.setAttribute('data-key', key);
      failed.textContent = '';
      d.failedRequests.slice(0, 20).forEach(function (r) {
        var li = document.createElement('li');
        var t = document.createElement('time');
        t.dateTime = r.timestamp;
        t.textContent = fmtTime(r.timestamp);
        li.appendChild(t);
        var msg = document.createElement('span');
        msg.className = 'bad';
        msg.textContent = (r.status || 'no answer') + ' ';
        li.appendChild(msg);
        li.appendChild(document.createTextNode(r.method + ' ' + r.path + (r.serverId ? ' → ' + r.serverId : '') + ' (' + fmtMs(r.responseTime) + ')'));
        failed.appendChild(li);
      });
    }
    $('no-failed').hidden = d.failedRequests.length > 0;
  }

  // Start ------------------------------------------------------------------------------------------------------

  // Without a stored token, ask the API whether it needs one.
  api('GET', 'metrics').then(function () {
    state.tokenRequired = !!state.token;
    begin();
  }, function (err) {
    if (err.status === 401) {
      state.tokenRequired = true;
      if (state.token) sessionStorage.removeItem(TOKEN_KEY);
      state.token = null;
      showLogin(err.message.indexOf('invalid') >= 0 ? 'The saved token was refused; sign in again.' : '');
    } else {
      setOverall('offline', 'Offline');
      $('login').hidden = true;
      text($('updated'), err.message);
      setTimeout(function () { location.reload(); }, 5000);
    }
  });
})();
