// Live leases: who has what open, until when, whether it carried traffic, whether every
// enforcer applied it, and a revoke button.
import { getJson, postJson } from './api.js';
import { askReason } from './dialog.js';
import { cell, fill, formatBytes, formatDuration, formatRule, formatTime, h, lines } from './dom.js';

export function leasesView(app) {
  const body = document.querySelector('#leases-table tbody');
  const empty = document.getElementById('leases-empty');
  const form = document.getElementById('leases-filter');

  async function revoke(lease) {
    const reason = await askReason({
      title: `Revoke lease ${lease.id}`,
      label: `Why is ${lease.host}'s lease revoked? The host sees this reason.`,
      confirm: 'Revoke lease',
    });
    if (reason === null) return;
    try {
      await postJson('/api/revoke', { leaseId: lease.id, reason });
      app.announce(`Revoked lease ${lease.id} of ${lease.host}.`);
      await refresh();
    } catch (err) {
      app.error('leases', err);
    }
  }

  function row({ lease, packets, bytes, neverUsed, enforcers }) {
    const ended = lease.state === 'ended';
    return h(
      'tr',
      { class: ended ? 'ended' : '' },
      cell(
        'Host',
        h('strong', {}, lease.host),
        lease.description ? h('div', { class: 'muted' }, lease.description) : null,
      ),
      cell('Rules', lines(lease.rules.map(formatRule))),
      cell('Rule', h('code', {}, lease.ruleId)),
      cell(
        'Expires in',
        ended
          ? h(
              'span',
              {},
              lease.endReason ?? 'ended',
              lease.endDetail ? h('div', { class: 'muted' }, lease.endDetail) : null,
            )
          : h(
              'time',
              {
                datetime: new Date(lease.expiresAtMs).toISOString(),
                title: formatTime(lease.expiresAtMs),
                dataset: { expires: String(lease.expiresAtMs) },
              },
              formatDuration((lease.expiresAtMs - app.now()) / 1000),
            ),
      ),
      cell(
        'Usage',
        h('span', {}, `${packets} pkts / ${formatBytes(bytes)}`),
        neverUsed
          ? h(
              'span',
              { class: 'badge warn', title: 'No enforcer has reported traffic on this lease' },
              'never used',
            )
          : null,
      ),
      cell(
        'Enforcers',
        enforcers.length === 0
          ? h('span', { class: 'muted' }, 'none in scope')
          : lines(enforcers.map((e) => `${e.name}: ${e.state}`)),
      ),
      cell('State', h('span', { class: `badge state-${lease.state}` }, lease.state)),
      cell(
        'Actions',
        ended
          ? '—'
          : h(
              'button',
              {
                type: 'button',
                class: 'danger',
                'aria-label': `Revoke lease ${lease.id} of ${lease.host}`,
                dataset: { focusKey: `revoke:${lease.id}` },
                onclick: () => void revoke(lease),
              },
              'Revoke…',
            ),
      ),
    );
  }

  async function refresh() {
    const data = new FormData(form);
    const res = await getJson('/api/leases', {
      host: String(data.get('host') ?? '').trim(),
      ended: data.get('ended') ? '1' : '',
    });
    app.syncClock(res.serverTimeMs);
    const rows = [...res.leases].sort((a, b) => a.lease.expiresAtMs - b.lease.expiresAtMs);
    fill(body, rows.map(row));
    empty.hidden = rows.length > 0;
    app.count('leases', rows.filter((r) => r.lease.state !== 'ended').length);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    refresh().catch((err) => app.error('leases', err));
  });
  form.querySelector('input[name="ended"]').addEventListener('change', () => form.requestSubmit());

  return { name: 'leases', refresh };
}
