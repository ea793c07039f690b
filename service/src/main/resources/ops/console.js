// The operations console: plain JavaScript, no build. Everything it shows comes from /ops/api with the operator's
// key or Entra ID access token (kept in this tab's sessionStorage only); data is always inserted as text.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const state = { queue: null, page: 0, size: 50, total: 0, detail: null };

  function token() { return sessionStorage.getItem('opsToken') || ''; }

  function status(text, error) {
    $('status').textContent = text;
    $('status').className = error ? 'error' : '';
  }

  async function api(method, path, body) {
    const init = { method, headers: { 'Authorization': 'Bearer ' + token() } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch('/ops/api/' + path, init);
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const why = data.error || res.statusText;
      throw new Error(res.status === 401 ? 'Not signed in: ' + why : res.status === 403 ? 'Not allowed: ' + why : why);
    }
    return data;
  }

  function cell(tr, text, cls) {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function button(td, label, cls, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.className = cls;
    b.addEventListener('click', onClick);
    td.appendChild(b);
    return b;
  }

  function clear(id) { const tbody = $(id).querySelector('tbody'); tbody.replaceChildren(); return tbody; }

  async function loadQueues() {
    const data = await api('GET', 'queues');
    const tbody = clear('queues');
    for (const q of data.queues) {
      const tr = document.createElement('tr');
      tr.dataset.queue = q.queue;
      if (q.queue === state.queue) tr.className = 'selected';
      cell(tr, q.queue);
      cell(tr, q.kind);
      cell(tr, q.messages < 0 ? '?' : q.messages, 'num');
      cell(tr, q.deadLetters < 0 ? '?' : q.deadLetters, q.deadLetters > 0 ? 'num alert' : 'num');
      button(cell(tr, ''), 'Dead letters', 'open-queue', () => { state.queue = q.queue; state.page = 0; refresh(); });
      tbody.appendChild(tr);
    }
    if (!state.queue) {
      const withDeadLetters = data.queues.find((q) => q.deadLetters > 0);
      state.queue = (withDeadLetters || data.queues[0] || {}).queue || null;
    }
  }

  async function loadGroups() {
    const tbody = clear('groups');
    $('groups-queue').textContent = state.queue ? '(' + state.queue + ')' : '';
    if (!state.queue) return;
    const groups = await api('GET', 'dead-letters/groups?queue=' + encodeURIComponent(state.queue));
    for (const g of groups) {
      const tr = document.createElement('tr');
      tr.dataset.reason = g.reason;
      cell(tr, g.reason, 'reason');
      cell(tr, g.count, 'num count');
      cell(tr, (g.exceptionTypes || []).map((e) => (e.exceptionType || '-') + ' ×' + e.count).join(', '));
      const td = cell(tr, '');
      button(td, 'Replay group', 'replay-group', () => act('replay', { reason: g.reason }, g.count + ' dead letters with reason ' + g.reason));
      button(td, 'Purge group', 'purge-group', () => act('purge', { reason: g.reason }, g.count + ' dead letters with reason ' + g.reason));
      tbody.appendChild(tr);
    }
  }

  function listQuery() {
    let q = 'dead-letters?queue=' + encodeURIComponent(state.queue) + '&page=' + state.page + '&size=' + state.size;
    const reason = $('filter-reason').value.trim();
    const entity = $('filter-entity').value.trim();
    if (reason) q += '&reason=' + encodeURIComponent(reason);
    if (entity) q += '&entity=' + encodeURIComponent(entity);
    return q;
  }

  async function loadMessages() {
    const tbody = clear('messages');
    $('messages-queue').textContent = state.queue ? '(' + state.queue + ')' : '';
    if (!state.queue) return;
    const data = await api('GET', listQuery());
    state.total = data.total;
    const pages = Math.max(1, Math.ceil(data.total / state.size));
    $('page-info').textContent = 'page ' + (state.page + 1) + ' of ' + pages + ' (' + data.total + ' dead letters)';
    for (const m of data.items) {
      const tr = document.createElement('tr');
      tr.dataset.id = m.id;
      const check = document.createElement('input');
      check.type = 'checkbox';
      check.className = 'pick';
      check.value = m.id;
      cell(tr, '').appendChild(check);
      cell(tr, m.deadLetteredAt);
      cell(tr, m.reason, 'reason');
      cell(tr, m.hop);
      cell(tr, m.retryCount, 'num');
      cell(tr, m.entity);
      cell(tr, m.sourceRowId);
      cell(tr, m.correlationId);
      button(cell(tr, ''), 'View', 'view', () => view(m.id));
      tbody.appendChild(tr);
    }
  }

  async function view(id) {
    const m = await api('GET', 'dead-letters/message/' + encodeURIComponent(id) + '?queue=' + encodeURIComponent(state.queue));
    state.detail = m.id;
    $('detail-id').textContent = m.id + ' — ' + m.reason;
    $('detail-description').textContent = m.description;
    $('detail-properties').textContent = JSON.stringify(m.properties, null, 2);
    let body = m.body;
    try { body = JSON.stringify(JSON.parse(m.body), null, 2); } catch (e) { /* not JSON: as it is */ }
    $('detail-body').textContent = body;
    $('detail').hidden = false;
  }

  async function act(action, selector, what) {
    if (!state.queue) return;
    const verb = action === 'replay' ? 'Replay' : 'Purge (delete for good)';
    if (!window.confirm(verb + ' ' + what + ' of ' + state.queue + '?')) return;
    const body = Object.assign({ queue: state.queue }, selector);
    if (action === 'purge') body.confirm = true;
    try {
      const r = await api('POST', 'dead-letters/' + action, body);
      status(action === 'replay' ? 'Replayed ' + r.replayed + ' of ' + r.selected + '.' : 'Purged ' + r.purged + ' of ' + r.selected + '.');
      $('detail').hidden = true;
      await refresh(true);
    } catch (e) {
      status(e.message, true);
    }
  }

  function picked() { return Array.from(document.querySelectorAll('#messages input.pick:checked')).map((c) => c.value); }

  async function loadAudit() {
    const data = await api('GET', 'audit?limit=50');
    const tbody = clear('audit');
    for (const a of data.items) {
      const tr = document.createElement('tr');
      cell(tr, a.at);
      cell(tr, a.who);
      cell(tr, a.action, 'action');
      cell(tr, a.queue || a.entity);
      cell(tr, a.selector ? JSON.stringify(a.selector) : (a.filter || a.correlationId || ''));
      cell(tr, a.error ? 'failed: ' + a.error : a.count, 'num');
      tbody.appendChild(tr);
    }
  }

  async function loadChart() {
    const data = await api('GET', 'metrics');
    const s = data.samples;
    const maxT = Math.max(1, ...s.map((x) => x.syncedPerSecond));
    const maxL = Math.max(1, ...s.map((x) => x.meanLatencyMs));
    const step = s.length > 1 ? 600 / (s.length - 1) : 0;
    const line = (f, max) => s.map((x, i) => (i * step).toFixed(1) + ',' + (155 - (f(x) / max) * 150).toFixed(1)).join(' ');
    $('chart-throughput').setAttribute('points', line((x) => x.syncedPerSecond, maxT));
    $('chart-latency').setAttribute('points', line((x) => x.meanLatencyMs, maxL));
    $('chart-max-throughput').textContent = maxT.toFixed(1);
    $('chart-max-latency').textContent = maxL.toFixed(0);
  }

  async function refresh(keepStatus) {
    if (!token()) { status('Sign in with the key (local) or an access token (Entra ID).'); return; }
    try {
      await loadQueues();
      await loadGroups();
      await loadMessages();
      await loadAudit();
      await loadChart();
      if (!keepStatus) status('Signed in. Updated ' + new Date().toLocaleTimeString() + '.');
    } catch (e) {
      status(e.message, true);
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('signin-form').addEventListener('submit', (e) => {
      e.preventDefault();
      sessionStorage.setItem('opsToken', $('token').value.trim());
      $('token').value = '';
      refresh();
    });
    $('signout').addEventListener('click', () => { sessionStorage.removeItem('opsToken'); location.reload(); });
    $('filter-form').addEventListener('submit', (e) => { e.preventDefault(); state.page = 0; loadMessages().catch((x) => status(x.message, true)); });
    $('prev-page').addEventListener('click', () => { if (state.page > 0) { state.page--; loadMessages().catch((x) => status(x.message, true)); } });
    $('next-page').addEventListener('click', () => {
      if ((state.page + 1) * state.size < state.total) { state.page++; loadMessages().catch((x) => status(x.message, true)); }
    });
    $('replay-selected').addEventListener('click', () => { const ids = picked(); if (ids.length) act('replay', { ids }, ids.length + ' selected dead letters'); });
    $('purge-selected').addEventListener('click', () => { const ids = picked(); if (ids.length) act('purge', { ids }, ids.length + ' selected dead letters'); });
    $('detail-replay').addEventListener('click', () => act('replay', { ids: [state.detail] }, 'dead letter ' + state.detail));
    $('detail-purge').addEventListener('click', () => act('purge', { ids: [state.detail] }, 'dead letter ' + state.detail));
    $('detail-close').addEventListener('click', () => { $('detail').hidden = true; });
    $('sync-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = { entity: $('sync-entity').value.trim() };
      const ids = $('sync-ids').value.split(',').map((x) => x.trim()).filter((x) => x);
      if (ids.length) body.ids = ids; else body.filter = $('sync-filter').value.trim();
      try {
        const r = await api('POST', 'sync', body);
        status('Queued ' + r.queued + ' ' + r.entity + ' rows, correlation id ' + r.correlationId + '.');
        await loadAudit();
      } catch (x) { status(x.message, true); }
    });
    refresh();
    setInterval(() => { if (token()) refresh(true); }, 10000);
  });
}());
