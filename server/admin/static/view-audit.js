// The request log: filter by host, app, rule, decision and time; newest first; export the same
// selection as JSON lines.
import { getJson } from './api.js';
import { cell, fill, formatTime, h } from './dom.js';

// The console's own reads are recorded too (every admin call is); hidden unless asked for, or
// each refresh would fill the view with records of itself.
const READS = /^(List|Query|Verify|Policy|Explain)/;

export function auditView(app) {
  const form = document.getElementById('audit-filter');
  const body = document.querySelector('#audit-table tbody');
  const empty = document.getElementById('audit-empty');
  const exportLink = document.getElementById('audit-export');
  const summary = document.getElementById('audit-summary');

  /** The filter as query parameters; local date-times become ms so the server's zone does not matter. */
  function params() {
    const data = new FormData(form);
    const out = {};
    for (const key of ['host', 'app', 'rule', 'decision', 'limit']) {
      const v = String(data.get(key) ?? '').trim();
      if (v !== '') out[key] = v;
    }
    for (const key of ['since', 'until']) {
      const v = String(data.get(key) ?? '');
      if (v !== '') out[key] = String(new Date(v).getTime());
    }
    return out;
  }

  function updateExport() {
    const p = new URLSearchParams({ ...params(), format: 'jsonl' });
    if (!p.has('limit')) p.set('limit', '100000');
    exportLink.href = `/api/audit?${p}`;
  }

  function detailText(r) {
    const d = r.detail ?? {};
    if (typeof d.reason === 'string') return d.reason;
    if (typeof d.method === 'string') return d.method;
    if (Array.isArray(d.changes)) return d.changes.join('; ');
    return '';
  }

  function row(r) {
    return h(
      'tr',
      {},
      cell('Time', h('time', { datetime: new Date(r.atMs).toISOString() }, formatTime(r.atMs))),
      cell('#', String(r.seq)),
      cell('Actor', r.actor, r.peer ? h('div', { class: 'muted' }, r.peer) : null),
      cell('Action', r.action),
      cell('Outcome', h('span', { class: `badge outcome-${r.outcome}` }, r.outcome)),
      cell('Rule', r.ruleId ? h('code', {}, r.ruleId) : '—'),
      cell(
        'Lease / request',
        r.leaseId ? h('code', {}, r.leaseId) : null,
        r.requestId ? h('div', { class: 'muted' }, r.requestId) : null,
      ),
      cell('Detail', detailText(r)),
    );
  }

  async function refresh() {
    updateExport();
    const res = await getJson('/api/audit', params());
    const showReads = new FormData(form).get('reads') !== null;
    const records = res.records.filter(
      (r) => showReads || !(r.action === 'admin' && READS.test(String(r.detail?.method ?? ''))),
    );
    records.reverse();
    fill(body, records.map(row));
    empty.hidden = records.length > 0;
    summary.textContent = `${records.length} record${records.length === 1 ? '' : 's'} shown, newest first${res.records.length >= res.limit ? ` (limit ${res.limit} reached; narrow the filter)` : ''}.`;
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    refresh().then(
      () => app.announce(summary.textContent),
      (err) => app.error('audit', err),
    );
  });
  form.addEventListener('input', updateExport);
  form.addEventListener('reset', () => setTimeout(() => form.requestSubmit(), 0));
  updateExport();

  return { name: 'audit', refresh };
}
