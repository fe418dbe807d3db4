/**
 * Clock skew against the server, without opening anything: one HTTPS request to the admin listener
 * and its Date header. Any Pinhole certificate completes the handshake (a 403 or 404 still carries
 * Date). Date has one-second resolution, so the skew is known within an interval: the server's
 * time when it answered lies in [Date, Date + 1 s), ours in [sent, received]; only a skew outside
 * that uncertainty counts. Skew matters because kernel timeouts come from the server's expires_at:
 * an agent whose clock is off by more than its grace closes openings early or late.
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorText, finding, type Finding } from './types.js';

export interface ClockCheckOptions {
  /** host:port of the server's admin HTTPS listener. */
  readonly address: string;
  readonly certDir: string;
  /** Client certificate base name in certDir. */
  readonly identity: string;
  /** Fail above this skew. Default 2000 ms. */
  readonly maxSkewMs?: number;
  readonly now?: () => number;
  readonly timeoutMs?: number;
}

/** The skew interval [low, high] (server minus local, ms) from one exchange. */
export function skewInterval(
  serverDateMs: number,
  sentMs: number,
  receivedMs: number,
): { low: number; high: number } {
  return { low: serverDateMs - receivedMs, high: serverDateMs + 1000 - sentMs };
}

function fetchDate(
  o: ClockCheckOptions,
  now: () => number,
): Promise<{ dateMs: number; sentMs: number; receivedMs: number }> {
  const colon = o.address.lastIndexOf(':');
  const host = o.address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    const sentMs = now();
    const req = request(
      {
        host,
        port: Number(o.address.slice(colon + 1)),
        path: '/.well-known/jwks.json',
        method: 'GET',
        agent: false,
        ca: readFileSync(join(o.certDir, 'ca.crt')),
        cert: readFileSync(join(o.certDir, `${o.identity}.crt`)),
        key: readFileSync(join(o.certDir, `${o.identity}.key`)),
        // The server certificate is checked against the Pinhole CA; its SANs need not name this address.
        checkServerIdentity: () => undefined,
        timeout: o.timeoutMs ?? 5000,
      },
      (res) => {
        const receivedMs = now();
        res.resume();
        const date = res.headers.date === undefined ? Number.NaN : Date.parse(res.headers.date);
        if (Number.isNaN(date))
          reject(new Error(`no Date header in the answer (HTTP ${res.statusCode ?? '?'})`));
        else resolve({ dateMs: date, sentMs, receivedMs });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${o.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function checkClock(o: ClockCheckOptions): Promise<Finding[]> {
  const subject = `server ${o.address}`;
  const maxSkewMs = o.maxSkewMs ?? 2000;
  let sample: { dateMs: number; sentMs: number; receivedMs: number };
  try {
    sample = await fetchDate(o, o.now ?? Date.now);
  } catch (e) {
    return [
      finding(
        'clock',
        'fail',
        subject,
        `cannot ask the server for its time: ${errorText(e)}`,
        'start the server, or point --server-admin at its admin listener (admin.listen); --skip clock to leave it out',
      ),
    ];
  }
  const { low, high } = skewInterval(sample.dateMs, sample.sentMs, sample.receivedMs);
  // The smallest skew consistent with what we saw: 0 if the interval contains 0.
  const skew = low > 0 ? low : high < 0 ? high : 0;
  const uncertainty = Math.round((high - low) / 2);
  if (Math.abs(skew) > maxSkewMs) {
    const way = skew > 0 ? 'ahead of' : 'behind';
    return [
      finding(
        'clock',
        'fail',
        subject,
        `the server's clock is at least ${(Math.abs(skew) / 1000).toFixed(1)} s ${way} this machine's (limit ${maxSkewMs} ms)`,
        'run NTP on both machines (systemd-timesyncd or chrony) and check `timedatectl`',
      ),
    ];
  }
  return [
    finding(
      'clock',
      'ok',
      subject,
      skew === 0
        ? `in step (within the ±${uncertainty} ms this check can resolve)`
        : `skew ${skew} ms, under the ${maxSkewMs} ms limit`,
    ),
  ];
}
