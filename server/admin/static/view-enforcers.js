// Enforcers: are the firewalls alive, caught up and untouched?
import { getJson } from './api.js';
import { cell, fill, formatAgo, formatTime, h, lines } from './dom.js';

export function enforcersView(app) {
  const body = document.querySelector('#enforcers-table tbody');
  const empty = document.getElementById('enforcers-empty');

  function row(e, now) {
    return h(
      'tr',
      { class: e.compliant ? '' : 'alert-row' },
      cell('Name', h('strong', {}, e.name)),
      cell('Mode', e.mode || '—'),
      cell('Applied revision', String(e.appliedRevision)),
      cell(
        'Last heartbeat',
        h('span', { title: formatTime(e.lastHeartbeatMs) }, formatAgo(e.lastHeartbeatMs, now)),
      ),
      cell(
        'Compliant',
        h('span', { class: `badge ${e.compliant ? 'ok' : 'bad'}` }, e.compliant ? 'yes' : 'no'),
      ),
      cell('Error', e.error || '—'),
      cell('Tamper events', lines(e.tamperEvents.slice(-5))),
    );
  }

  async function refresh() {
    const res = await getJson('/api/enforcers');
    app.syncClock(res.serverTimeMs);
    fill(
      body,
      res.enforcers.map((e) => row(e, res.serverTimeMs)),
    );
    empty.hidden = res.enforcers.length > 0;
    app.count('enforcers', res.enforcers.filter((e) => !e.compliant).length, 'not compliant');
  }

  return { name: 'enforcers', refresh };
}
