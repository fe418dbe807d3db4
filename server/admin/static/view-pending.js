// Pending approvals: what a host asked for and what policy proposes; approve as proposed or
// narrower (shorter TTL, narrower sources), or deny with a reason the host will see.
import { getJson, postJson } from './api.js';
import { askReason } from './dialog.js';
import {
  fill,
  formatDuration,
  formatOpening,
  formatRule,
  formatTime,
  h,
  lines,
  parseDuration,
} from './dom.js';

export function pendingView(app) {
  const list = document.getElementById('pending-list');
  const empty = document.getElementById('pending-empty');

  async function approve(p, form) {
    const ttlInput = form.elements.namedItem('ttl');
    const ttlSeconds = parseDuration(ttlInput.value);
    if (Number.isNaN(ttlSeconds) || ttlSeconds > p.decision.ttlSeconds) {
      ttlInput.setCustomValidity(
        `Use a duration such as 5m or 90s, at most ${formatDuration(p.decision.ttlSeconds)}; leave empty to keep the proposal.`,
      );
      ttlInput.reportValidity();
      return;
    }
    const sourceCidrs = form.elements
      .namedItem('sources')
      .value.split(/[\s,]+/)
      .filter((s) => s !== '');
    const comment = form.elements.namedItem('comment').value.trim();
    try {
      const answer = await postJson('/api/approve', { pendingId: p.id, ttlSeconds, sourceCidrs, comment });
      app.announce(
        `Approved ${p.host}'s request; lease ${answer.lease?.id ?? ''} granted for ${formatDuration(answer.decision.ttlSeconds)}.`,
      );
      await refresh();
    } catch (err) {
      app.error('pending', err);
    }
  }

  async function deny(p) {
    const reason = await askReason({
      title: `Deny ${p.host}'s request`,
      label: `Why is ${p.host}'s request ${p.request.requestId} denied? The host sees this reason.`,
      confirm: 'Deny request',
    });
    if (reason === null) return;
    try {
      await postJson('/api/deny', { pendingId: p.id, reason });
      app.announce(`Denied ${p.host}'s request ${p.request.requestId}.`);
      await refresh();
    } catch (err) {
      app.error('pending', err);
    }
  }

  function field(id, label, input, hint) {
    return h(
      'div',
      { class: 'field' },
      h('label', { for: id }, label),
      input,
      hint ? h('small', { id: `${id}-hint`, class: 'muted' }, hint) : null,
    );
  }

  function card(p) {
    const d = p.decision;
    const titleId = `${p.id}-title`;
    const sources = [...new Set(d.rules.map((r) => r.sourceCidr))];
    const form = h(
      'form',
      {
        class: 'decide',
        'aria-label': `Decide ${p.host}'s request`,
        onsubmit: (event) => {
          event.preventDefault();
          void approve(p, form);
        },
      },
      field(
        `${p.id}-ttl`,
        'TTL (optional, shorter)',
        h('input', {
          id: `${p.id}-ttl`,
          name: 'ttl',
          inputmode: 'text',
          autocomplete: 'off',
          placeholder: formatDuration(d.ttlSeconds),
          'aria-describedby': `${p.id}-ttl-hint`,
          oninput: (e) => e.target.setCustomValidity(''),
        }),
        `proposed ${formatDuration(d.ttlSeconds)}; e.g. 5m, 90s`,
      ),
      field(
        `${p.id}-sources`,
        'Narrow sources (optional CIDRs)',
        h('input', {
          id: `${p.id}-sources`,
          name: 'sources',
          autocomplete: 'off',
          placeholder: sources.join(', '),
          'aria-describedby': `${p.id}-sources-hint`,
        }),
        'inside the proposed sources',
      ),
      field(
        `${p.id}-comment`,
        'Comment (optional)',
        h('input', { id: `${p.id}-comment`, name: 'comment', autocomplete: 'off', maxlength: '1024' }),
      ),
      h(
        'div',
        { class: 'buttons' },
        h(
          'button',
          { type: 'submit', class: 'primary', dataset: { focusKey: `approve:${p.id}` } },
          'Approve',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            dataset: { focusKey: `deny:${p.id}` },
            onclick: () => void deny(p),
          },
          'Deny…',
        ),
      ),
    );
    return h(
      'li',
      {},
      h(
        'article',
        { class: 'card', 'aria-labelledby': titleId },
        h('h3', { id: titleId }, `${p.host}: ${p.request.openings.map(formatOpening).join('; ')}`),
        h(
          'dl',
          { class: 'facts' },
          h('dt', {}, 'Request'),
          h(
            'dd',
            {},
            h('code', {}, p.request.requestId),
            p.request.description ? ` — ${p.request.description}` : '',
          ),
          h('dt', {}, 'Proposed rules'),
          h('dd', {}, lines(d.rules.map(formatRule))),
          h('dt', {}, 'Rule'),
          h('dd', {}, h('code', {}, d.ruleId), ` — ${d.reason}`),
          h('dt', {}, 'Proposed TTL'),
          h(
            'dd',
            {},
            formatDuration(d.ttlSeconds),
            p.request.requestedTtlSeconds ? ` (asked ${formatDuration(p.request.requestedTtlSeconds)})` : '',
          ),
          h('dt', {}, 'Waiting since'),
          h('dd', {}, formatTime(p.createdAtMs)),
          h('dt', {}, 'Expires in'),
          h(
            'dd',
            {},
            h(
              'time',
              {
                datetime: new Date(p.expiresAtMs).toISOString(),
                dataset: { expires: String(p.expiresAtMs) },
              },
              formatDuration((p.expiresAtMs - app.now()) / 1000),
            ),
          ),
        ),
        form,
      ),
    );
  }

  let shown = '';
  let lastCount;
  async function refresh() {
    const res = await getJson('/api/pending');
    app.syncClock(res.serverTimeMs);
    app.count('pending', res.pending.length);
    // New work for an admin is worth saying out loud, whichever tab is open.
    if (lastCount !== undefined && res.pending.length > lastCount) {
      const n = res.pending.length;
      app.announce(`${n} request${n === 1 ? '' : 's'} waiting for approval.`);
    }
    lastCount = res.pending.length;
    // Re-rendering would wipe what an admin is typing into a form; only redraw when the set changed.
    const ids = res.pending.map((p) => p.id).join(',');
    if (ids === shown && list.children.length > 0) return;
    shown = ids;
    fill(list, res.pending.map(card));
    empty.hidden = res.pending.length > 0;
  }

  return { name: 'pending', refresh };
}
