// Small DOM and formatting helpers shared by the views. Text goes in through textContent only,
// never innerHTML: lease descriptions, reasons and policy text are untrusted.

/**
 * Builds an element: h('td', { class: 'num', dataset: { label: 'Host' } }, 'web-1', child).
 * Attributes starting with "on" are listeners; `false`/`null` attributes are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A table cell that also carries its column name, shown as a label when rows stack (narrow screens). */
export function cell(label, ...children) {
  // One wrapper, so a stacked cell is exactly two grid items: its label and its content.
  return h('td', { dataset: { label } }, h('div', {}, ...children));
}

/**
 * Replaces a tbody's (or list's) rows in one go. Live updates must not steal focus from a
 * keyboard user: the focused control's data-focus-key is found again in the new rows.
 */
export function fill(container, rows) {
  const active = document.activeElement;
  const key =
    active instanceof HTMLElement && container.contains(active) ? active.dataset.focusKey : undefined;
  container.replaceChildren(...rows);
  if (key !== undefined) container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`)?.focus();
}

/** 272 -> "4m 32s"; negative -> "expired". */
export function formatDuration(seconds) {
  if (seconds <= 0) return 'expired';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  if (d > 0) return `${d}d ${hh}h`;
  if (hh > 0) return `${hh}h ${mm}m`;
  if (mm > 0) return `${mm}m ${ss}s`;
  return `${ss}s`;
}

/** Seconds ago, for heartbeats: "12s ago", "never". */
export function formatAgo(ms, nowMs) {
  if (!ms) return 'never';
  return `${formatDuration(Math.max(1, (nowMs - ms) / 1000))} ago`;
}

export function formatTime(ms) {
  if (!ms) return '—';
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** "tcp/5432 from 198.18.1.0/24 to 198.18.0.2" */
export function formatRule(r) {
  const ports = r.portFrom === r.portTo ? `${r.portFrom}` : `${r.portFrom}-${r.portTo}`;
  return `${r.protocol}/${ports} from ${r.sourceCidr} to ${r.destination}`;
}

/** What a host asked for, one line per opening. */
export function formatOpening(o) {
  const what =
    o.app ??
    `${o.ports.protocol}/${o.ports.from === o.ports.to ? o.ports.from : `${o.ports.from}-${o.ports.to}`}`;
  const from =
    o.sources.length === 0
      ? 'any'
      : o.sources.map((s) => s.cidr ?? (s.kind === 'any' ? 'any' : `${s.kind}:${s.name}`)).join(', ');
  return `${what} from ${from}`;
}

/** A list (or a dash) of short lines. */
export function lines(items) {
  if (items.length === 0) return '—';
  return h(
    'ul',
    { class: 'plain' },
    items.map((t) => h('li', {}, t)),
  );
}

/** "5m", "90s", "1h30m" or plain seconds -> seconds; '' -> 0; anything else -> NaN. */
export function parseDuration(text) {
  const t = text.trim();
  if (t === '') return 0;
  if (/^\d+$/.test(t)) return Number(t);
  if (!/^(\d+[smhd])+$/.test(t)) return NaN;
  const unit = { s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  for (const m of t.matchAll(/(\d+)([smhd])/g)) total += Number(m[1]) * unit[m[2]];
  return total;
}
