/**
 * The web console in a real Chromium (playwright-core, Debian's /usr/bin/chromium) with the dev
 * admin client certificate: a lease appears live when a host opens it, a pending request is
 * approved and another denied by clicking, a lease revoked, the request log filtered, policy
 * explained; without a client certificate the console does not load at all. Each view is
 * screenshotted at 1280×800 and 400 px wide into test-artifacts/ (git-ignored).
 */
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { OpeningClient } from '../../client-sdk/wire.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import { hostClient, REPO, removeDir, unaryCall, type TestServer } from '../helpers/pinhole.js';
import { startAdminTestServer } from '../integration/admin-fixtures.js';

const ARTIFACTS = join(REPO, 'test-artifacts');
const WIDE = { width: 1280, height: 800 };
const NARROW = { width: 400, height: 800 };

let ts: TestServer;
let web: OpeningClient;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let origin: string;
/** Script errors and console errors, CSP violations included: there must be none. */
let problems: string[];

const openLease = (requestId: string): Promise<OpenResponse__Output> =>
  unaryCall(web, web.Open, {
    requestId,
    openings: [{ ports: { protocol: 'TCP', from: 5432, to: 5432 }, sources: [{ cidr: '198.18.1.0/24' }] }],
    requestedTtlSeconds: 600,
    description: 'orders database',
  });
const openBackup = (requestId: string): Promise<OpenResponse__Output> =>
  unaryCall(web, web.Open, {
    requestId,
    openings: [{ app: 'backup-agent', sources: [{ cidr: '198.18.9.0/24' }] }],
    requestedTtlSeconds: 600,
    description: 'nightly backup',
  });

/** Both layouts of the current view. */
async function screenshots(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: false });
  await page.setViewportSize(NARROW);
  await page.screenshot({ path: join(ARTIFACTS, `console-${name}-narrow.png`), fullPage: true });
  // Usable at ~400 px means no sideways scrolling of the page itself.
  expect(
    await page.evaluate<number>('document.documentElement.scrollWidth'),
    `${name} at 400 px`,
  ).toBeLessThanOrEqual(NARROW.width);
  await page.setViewportSize(WIDE);
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  ts = await startAdminTestServer();
  web = hostClient(ts.address, ts.certDir, 'web-1');
  origin = `https://${ts.server.adminAddress}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser.close();
  web.close();
  await ts.close();
  removeDir(ts.dataDir);
});

beforeEach(async () => {
  context = await browser.newContext({
    viewport: WIDE,
    // The dev CA is not in Chromium's store; the client certificate is what this test is about.
    ignoreHTTPSErrors: true,
    clientCertificates: [
      { origin, certPath: join(ts.certDir, 'admin-alice.crt'), keyPath: join(ts.certDir, 'admin-alice.key') },
    ],
  });
  page = await context.newPage();
  problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  await page.goto(`${origin}/`);
  await expect.poll(() => page.locator('#connection').textContent()).toBe('Live');
});

afterEach(async () => {
  await context.close();
  expect(problems).toEqual([]);
});

describe('the console', () => {
  it('shows a lease appear live when a host opens it, counting down', async () => {
    const granted = (await openLease('browser-lease-1')).lease!;
    // No reload: the change feed brings it.
    const row = page.locator('#leases-table tbody tr', { hasText: 'web-postgres' });
    await expect.poll(() => row.count(), { timeout: 5000 }).toBe(1);
    await expect.poll(() => row.textContent()).toContain('tcp/5432 from 198.18.1.0/24 to 198.18.0.2');
    expect(await row.textContent()).toContain('never used');
    expect(await row.textContent()).toContain('gw-1: unknown');
    const countdown = row.locator('time');
    const first = await countdown.textContent();
    expect(first).toMatch(/^(9|10)m \d+s$/);
    await expect.poll(() => countdown.textContent(), { timeout: 3000 }).not.toBe(first);
    expect(await page.locator('#count-leases').textContent()).toBe('1');
    expect(await row.getByRole('button', { name: `Revoke lease ${granted.id} of web-1` }).isVisible()).toBe(
      true,
    );
    await screenshots('leases');
  });

  it('approves a pending request with a shorter TTL by clicking', async () => {
    const pending = await openBackup('browser-approve-1');
    await expect.poll(() => page.locator('#count-pending').textContent(), { timeout: 5000 }).toBe('1');
    await page.getByRole('tab', { name: /Pending/ }).click();
    const card = page.locator('#pending-list article', { hasText: 'backup-agent from 198.18.9.0/24' });
    await expect.poll(() => card.count()).toBe(1);
    expect(await card.textContent()).toContain('nightly-backup');
    expect(await card.textContent()).toContain('tcp/9102 from 198.18.9.0/24 to 198.18.0.2');
    await screenshots('pending');
    await card.getByLabel('TTL (optional, shorter)').fill('2m');
    await card.getByLabel('Comment (optional)').fill('clicked in the console');
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => page.locator('#announce').textContent())
      .toMatch(/^Approved web-1's request; lease lse_\S+ granted for 2m 0s\.$/);
    await expect.poll(() => card.count()).toBe(0);
    const decided = await ts.server.store.getPending(pending.pendingId);
    expect(decided?.state).toBe('approved');
    expect(decided?.answer?.decision.ttlSeconds).toBe(120);
    expect(decided?.answer?.decision.reason).toContain('clicked in the console');
  });

  it('denies a pending request and revokes a lease through the reason dialog', async () => {
    const pending = await openBackup('browser-deny-1');
    await page.getByRole('tab', { name: /Pending/ }).click();
    const card = page.locator('#pending-list article', { hasText: 'browser-deny-1' });
    await expect.poll(() => card.count(), { timeout: 5000 }).toBe(1);
    await card.getByRole('button', { name: 'Deny…' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.isVisible()).toBe(true);
    await screenshots('deny-dialog');
    await dialog.getByRole('textbox').fill('backups go through the vault');
    await dialog.getByRole('button', { name: 'Deny request' }).click();
    await expect.poll(() => card.count()).toBe(0);
    expect((await ts.server.store.getPending(pending.pendingId))?.answer?.decision.reason).toContain(
      'backups go through the vault',
    );

    const lease = (await openLease('browser-revoke-1')).lease!;
    await page.getByRole('tab', { name: /Leases/ }).click();
    await page.getByRole('button', { name: `Revoke lease ${lease.id} of web-1` }).click();
    // Cancel first: nothing happens.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await ts.server.store.getLease(lease.id))?.state).toBe('granted');
    await page.getByRole('button', { name: `Revoke lease ${lease.id} of web-1` }).click();
    await dialog.getByRole('textbox').fill('no longer needed');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter'); // keyboard only: Tab to "Revoke lease", Enter
    await expect
      .poll(async () => (await ts.server.store.getLease(lease.id))?.endDetail)
      .toContain('no longer needed');
  });

  it('filters the request log and offers the same selection as a JSON-lines export', async () => {
    await openBackup('browser-log-1');
    await openLease('browser-log-2');
    await page.getByRole('tab', { name: 'Request log' }).click();
    const rows = page.locator('#audit-table tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThan(2);
    const panel = page.locator('#panel-audit');
    await panel.getByLabel('Host').fill('web-1');
    await panel.getByLabel('Decision').selectOption('PENDING');
    await panel.getByRole('button', { name: 'Apply' }).click();
    await expect
      .poll(async () =>
        (await rows.allTextContents()).every((t) => t.includes('PENDING') && t.includes('host/web-1')),
      )
      .toBe(true);
    expect(await rows.count()).toBeGreaterThan(0);
    const href = await page.getByRole('link', { name: 'Export JSON lines' }).getAttribute('href');
    const params = new URL(href ?? '', origin).searchParams;
    expect(Object.fromEntries(params)).toMatchObject({ host: 'web-1', decision: 'PENDING', format: 'jsonl' });
    const download = await page.request.get(`${origin}${href ?? ''}`);
    expect(download.headers()['content-disposition']).toMatch(/^attachment/);
    const lines = (await download.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { outcome: string });
    expect(lines.every((l) => l.outcome === 'PENDING')).toBe(true);
    await screenshots('audit');
  });

  it('shows enforcers and policy, and explains a what-if question', async () => {
    await page.getByRole('tab', { name: /Enforcers/ }).click();
    const row = page.locator('#enforcers-table tbody tr', { hasText: 'gw-1' });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('never');

    // An enforcer reports (as the firewall agent's ReportStatus would): applied, counters, a
    // tamper event. The console follows within the 2 s poll, without a reload.
    const lease = (await openLease('browser-enforcer-1')).lease!;
    ts.server.registry.report('gw-1', {
      appliedRevision: Number(lease.revision),
      error: '',
      tamperEvents: ['table inet pinhole flushed by someone else; restored'],
      counters: [{ leaseId: lease.id, packets: 42, bytes: 4096 }],
      mode: 'gateway',
      backend: 'nftables',
    });
    await expect.poll(() => row.textContent(), { timeout: 5000 }).toContain('flushed by someone else');
    expect(await row.textContent()).toMatch(/gateway.*yes/);
    await screenshots('enforcers');
    await page.getByRole('tab', { name: /Leases/ }).click();
    const leaseRow = page
      .locator('#leases-table tbody tr')
      .filter({ has: page.getByRole('button', { name: `Revoke lease ${lease.id} of web-1` }) });
    await expect.poll(() => leaseRow.textContent()).toContain('42 pkts / 4.0 KiB');
    expect(await leaseRow.textContent()).toContain('gw-1: applied');
    expect(await leaseRow.textContent()).not.toContain('never used');
    expect(await leaseRow.textContent()).toContain('realized');

    await page.getByRole('tab', { name: 'Policy' }).click();
    await expect.poll(() => page.locator('#policy-text').textContent()).toContain('nightly-backup');
    const explain = page.getByRole('form', { name: 'Explain a request' });
    await explain.getByLabel('Host').fill('web-1');
    await explain.getByLabel('Open', { exact: true }).fill('tcp/23');
    await explain.getByLabel('From (optional)').fill('198.18.1.0/24');
    await explain.getByRole('button', { name: 'Explain' }).click();
    await expect
      .poll(() => page.locator('#explain-result').textContent())
      .toMatch(/DENIED by rule no-telnet/);
    await screenshots('policy');
  });

  it('is keyboard-operable: arrow keys move between tabs', async () => {
    await page.getByRole('tab', { name: /Leases/ }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('tab', { name: /Pending/ }).getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('#panel-pending').isVisible()).toBe(true);
    await page.keyboard.press('End');
    expect(await page.getByRole('tab', { name: 'Policy' }).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('tab', { name: /Leases/ }).getAttribute('aria-selected')).toBe('true');
    expect(await page.evaluate<string>('document.activeElement?.id')).toBe('tab-leases');
  });
});

describe('without a client certificate', () => {
  it('the console does not load: the TLS handshake is refused', async () => {
    const bare = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const p = await bare.newPage();
      await expect(p.goto(`${origin}/`)).rejects.toThrow(/net::ERR_/);
    } finally {
      await bare.close();
    }
  });
});
