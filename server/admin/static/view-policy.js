// Policy: the file in force, a reload button, and the what-if form (explain) that asks policy
// a question without side effects.
import { getJson, postJson } from './api.js';
import { formatDuration, formatRule, h, lines } from './dom.js';

export function policyView(app) {
  const fileEl = document.getElementById('policy-file');
  const textEl = document.getElementById('policy-text');
  const reloadButton = document.getElementById('policy-reload');
  const reloadResult = document.getElementById('policy-reload-result');
  const explainForm = document.getElementById('explain-form');
  const result = document.getElementById('explain-result');

  async function refresh() {
    const res = await getJson('/api/policy');
    fileEl.textContent = res.file;
    if (textEl.textContent !== res.text) textEl.textContent = res.text;
  }

  reloadButton.addEventListener('click', async () => {
    reloadButton.disabled = true;
    try {
      const r = await postJson('/api/reload', {});
      const text = r.ok
        ? `Reloaded: ${r.revoked} lease(s) revoked, ${r.shortened} shortened${r.warnings.length ? `; ${r.warnings.length} warning(s)` : ''}.`
        : `Reload refused; the previous policy stays in force.`;
      const notes = [...r.errors, ...r.warnings];
      reloadResult.replaceChildren(h('div', {}, h('p', {}, text), notes.length > 0 ? lines(notes) : null));
      app.announce(text);
      await refresh();
    } catch (err) {
      app.error('policy', err);
    } finally {
      reloadButton.disabled = false;
    }
  });

  explainForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(explainForm);
    const list = (key) =>
      String(data.get(key) ?? '')
        .split(/[\s,]+/)
        .filter((s) => s !== '');
    try {
      const { decision: d } = await postJson('/api/explain', {
        host: String(data.get('host') ?? '').trim(),
        addresses: list('addresses'),
        open: list('open'),
        from: list('from'),
        ttl: String(data.get('ttl') ?? '').trim(),
      });
      // h() skips null children; replaceChildren would print them as "null".
      result.replaceChildren(
        h(
          'div',
          {},
          h(
            'p',
            {},
            h('span', { class: `badge outcome-${d.outcome}` }, d.outcome),
            ' by rule ',
            h('code', {}, d.ruleId),
            `: ${d.reason}`,
          ),
          d.rules.length > 0
            ? h(
                'div',
                {},
                h('h4', {}, `Rules (${formatDuration(d.ttlSeconds)})`),
                lines(d.rules.map(formatRule)),
              )
            : null,
          d.narrowings.length > 0
            ? h(
                'div',
                {},
                h('h4', {}, 'Narrowed'),
                lines(
                  d.narrowings.map(
                    (n) => `${n.field}: ${n.requested} → ${n.granted} (${n.ruleId}: ${n.reason})`,
                  ),
                ),
              )
            : null,
          d.wouldAllow ? h('p', {}, `Would allow: ${d.wouldAllow}`) : null,
        ),
      );
      app.announce(`Policy would answer ${d.outcome} by rule ${d.ruleId}.`);
    } catch (err) {
      result.replaceChildren();
      app.error('policy', err);
    }
  });

  return { name: 'policy', refresh };
}
