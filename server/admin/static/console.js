// The console's entry point: tabs, the live region, the change feed (Server-Sent Events) and
// the one-second countdown. Each view owns its section of index.html and knows how to refresh.
import { formatDuration } from './dom.js';
import { leasesView } from './view-leases.js';
import { pendingView } from './view-pending.js';
import { auditView } from './view-audit.js';
import { enforcersView } from './view-enforcers.js';
import { policyView } from './view-policy.js';

const announcer = document.getElementById('announce');
const connection = document.getElementById('connection');
let clockOffsetMs = 0;
let announceTimer;

const app = {
  /** Polite announcement for screen readers (and a visible toast). */
  announce(message) {
    // Clearing first makes a repeated message ("Revoked…") be read again.
    announcer.textContent = '';
    clearTimeout(announceTimer);
    announceTimer = setTimeout(() => {
      announcer.textContent = message;
      // The visible toast goes after a while; the message was read when it appeared.
      announceTimer = setTimeout(() => {
        announcer.textContent = '';
      }, 8000);
    }, 50);
  },
  error(view, err) {
    const el = document.getElementById(`${view}-error`);
    el.textContent = err?.message ?? String(err);
    el.hidden = false;
  },
  clearError(view) {
    const el = document.getElementById(`${view}-error`);
    el.hidden = true;
    el.textContent = '';
  },
  /** A number next to a tab's name; 0 hides it. */
  count(view, n, label = '') {
    const el = document.getElementById(`count-${view}`);
    el.textContent = n > 0 ? String(n) : '';
    el.hidden = n === 0;
    if (label) el.title = `${n} ${label}`;
  },
  /** Countdowns follow the server's clock, which decides expiry, not the browser's. */
  syncClock(serverTimeMs) {
    if (typeof serverTimeMs === 'number') clockOffsetMs = serverTimeMs - Date.now();
  },
  now() {
    return Date.now() + clockOffsetMs;
  },
};

const views = Object.fromEntries(
  [leasesView, pendingView, auditView, enforcersView, policyView].map((make) => {
    const v = make(app);
    return [v.name, v];
  }),
);

// One refresh per view at a time; a change during a refresh queues exactly one more.
const running = new Map();
const again = new Set();
function refresh(name) {
  if (running.has(name)) {
    again.add(name);
    return running.get(name);
  }
  const p = views[name]
    .refresh()
    .then(
      () => app.clearError(name),
      (err) => app.error(name, err),
    )
    .finally(() => {
      running.delete(name);
      if (again.delete(name)) void refresh(name);
    });
  running.set(name, p);
  return p;
}

// Tabs (WAI-ARIA Authoring Practices "Tabs with automatic activation").
const tabs = [...document.querySelectorAll('[role="tab"]')];
let active = 'leases';

function select(name, { focus = false } = {}) {
  if (!(name in views)) name = 'leases';
  active = name;
  for (const tab of tabs) {
    const on = tab.dataset.view === name;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    document.getElementById(tab.getAttribute('aria-controls')).hidden = !on;
    if (on && focus) tab.focus();
  }
  history.replaceState(null, '', `#${name}`);
  void refresh(name);
}

for (const tab of tabs) {
  tab.addEventListener('click', () => select(tab.dataset.view));
  tab.addEventListener('keydown', (event) => {
    const i = tabs.indexOf(tab);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    select(tabs[(next + tabs.length) % tabs.length].dataset.view, { focus: true });
  });
}

// What each change kind makes stale. Views with a count on their tab stay current in the
// background; the others refresh when shown. The request log re-reads only on new records
// (at most every 2 s), not on every lease commit: a query walks the log.
const STALE = {
  hello: ['leases', 'pending', 'enforcers', 'audit', 'policy'],
  leases: ['leases'],
  pending: ['pending'],
  enforcers: ['enforcers', 'leases'],
  audit: ['pending', 'audit', 'policy'],
};
const COUNTED = new Set(['leases', 'pending', 'enforcers']);

function connect() {
  const events = new EventSource('/api/events');
  events.addEventListener('open', () => {
    connection.textContent = 'Live';
    connection.className = 'connection live';
  });
  events.addEventListener('error', () => {
    // EventSource reconnects by itself (the server asks for 2 s); say so meanwhile.
    connection.textContent = 'Reconnecting…';
    connection.className = 'connection down';
  });
  events.addEventListener('changed', (event) => {
    let kinds = [];
    try {
      kinds = JSON.parse(event.data).kinds ?? [];
    } catch {
      kinds = ['hello'];
    }
    const names = new Set();
    for (const kind of kinds)
      for (const name of STALE[kind] ?? []) if (name === active || COUNTED.has(name)) names.add(name);
    for (const name of names) void refresh(name);
  });
}

// Countdowns tick locally between refreshes.
setInterval(() => {
  const now = app.now();
  for (const el of document.querySelectorAll('[data-expires]')) {
    el.textContent = formatDuration((Number(el.dataset.expires) - now) / 1000);
  }
}, 1000);

select(location.hash.slice(1));
connect();
