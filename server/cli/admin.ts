/**
 * `pinhole admin leases | pending | approve | deny | revoke | audit | enforcers`: the admin API
 * over gRPC with an admin certificate, for terminals and scripts. Human-readable by default,
 * `--json` (or `--jsonl` for audit) for machines. Failures print `error: <server's message>`
 * and exit 1 (the top-level `main` does that).
 */
import type { Command } from 'commander';
import { adminClient, readClientTls, type AdminClient } from '../../client-sdk/wire.js';
import { toClientError } from '../../client-sdk/errors.js';
import { parseTtlSeconds } from '../../client-sdk/durations.js';
import type { Lease__Output } from '../../proto/gen/pinhole/v1/Lease.js';
import type { ConcreteRule__Output } from '../../proto/gen/pinhole/v1/ConcreteRule.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import type { OpeningSpec__Output } from '../../proto/gen/pinhole/v1/OpeningSpec.js';
import type { AuditRecord__Output } from '../../proto/gen/pinhole/v1/AuditRecord.js';
import type { Outcome } from '../../proto/gen/pinhole/v1/Outcome.js';
import type { ListLeasesResponse__Output } from '../../proto/gen/pinhole/v1/ListLeasesResponse.js';
import type { ListPendingResponse__Output } from '../../proto/gen/pinhole/v1/ListPendingResponse.js';
import type { ListEnforcersResponse__Output } from '../../proto/gen/pinhole/v1/ListEnforcersResponse.js';
import { invalid } from '../core/errors.js';
import { parseTime } from '../admin/http-audit-query.js';

interface ConnectFlags {
  readonly server: string;
  readonly certs: string;
  readonly identity: string;
  readonly json?: boolean;
}

/** Long enough for a slow disk, short enough that a dead server does not hang a script. */
const DEADLINE_MS = 15_000;

type Callback<Res> = (err: Error | null, res?: Res) => void;

function connect(flags: ConnectFlags): AdminClient {
  return adminClient(flags.server, readClientTls(flags.certs, flags.identity));
}

/**
 * Runs one unary call with a deadline; rejects with a PinholeClientError carrying the server's
 * message. `invoke` makes the call on the client itself, so the method keeps its `this`.
 */
function unary<Res>(
  name: string,
  invoke: (options: { deadline: Date }, cb: Callback<Res>) => unknown,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    invoke({ deadline: new Date(Date.now() + DEADLINE_MS) }, (err, res) => {
      if (err !== null) reject(toClientError(err, name));
      else if (res === undefined) reject(new Error(`${name}: empty response`));
      else resolve(res);
    });
  });
}

/** `--json`: the wire response as it came, for scripts. */
function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** Opens a client for one command and always closes it, so the process can exit. */
async function withClient<T>(flags: ConnectFlags, fn: (c: AdminClient) => Promise<T>): Promise<T> {
  const client = connect(flags);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

function connectOptions(cmd: Command): Command {
  return cmd
    .option('--server <host:port>', 'gRPC address of the Pinhole server', '127.0.0.1:7443')
    .option('--certs <dir>', 'certificate directory (ca.crt and the identity files)', 'certs')
    .option('--identity <base>', 'certificate file base name in --certs', 'admin-alice')
    .option('--json', 'print JSON instead of text', false);
}

function formatRule(r: ConcreteRule__Output): string {
  const ports = r.portFrom === r.portTo ? `${r.portFrom}` : `${r.portFrom}-${r.portTo}`;
  return `${r.protocol.toLowerCase()}/${ports} from ${r.sourceCidr} to ${r.destination}`;
}

function formatOpening(o: OpeningSpec__Output): string {
  const what =
    o.app ??
    (o.ports == null
      ? '?'
      : `${o.ports.protocol.toLowerCase()}/${o.ports.from}${o.ports.to > o.ports.from ? `-${o.ports.to}` : ''}`);
  const from =
    o.sources.length === 0
      ? 'any'
      : o.sources
          .map((s) => s.cidr ?? s.group ?? (s.host === undefined ? 'any' : `host:${s.host}`))
          .join(',');
  return `${what} from ${from}`;
}

function inSeconds(ms: string, nowMs: number): string {
  const s = Math.round((Number(ms) - nowMs) / 1000);
  return s <= 0 ? 'expired' : `${s}s`;
}

function printLease(l: Lease__Output, extra = ''): void {
  const ended =
    l.state === 'LEASE_ENDED'
      ? ` ended (${l.endReason.toLowerCase()}${l.endDetail === '' ? '' : `: ${l.endDetail}`})`
      : ` expires in ${inSeconds(l.expiresAtUnixMs, Date.now())}`;
  console.log(`${l.id}  ${l.host}  rule ${l.ruleId}  ttl ${l.ttlSeconds}s${ended}${extra}`);
  for (const r of l.rules) console.log(`    ${formatRule(r)}`);
}

function printAnswer(a: OpenResponse__Output): void {
  console.log(
    `${a.decision?.outcome ?? '?'} by rule ${a.decision?.ruleId ?? '?'}: ${a.decision?.reason ?? ''}`,
  );
  if (a.lease != null) printLease(a.lease);
}

function printAudit(r: AuditRecord__Output): void {
  const at = new Date(Number(r.atUnixMs)).toISOString();
  const lease = r.leaseId === '' ? '' : ` lease ${r.leaseId}`;
  const rule = r.ruleId === '' ? '' : ` rule ${r.ruleId}`;
  console.log(`${r.seq}  ${at}  ${r.actor}  ${r.action}  ${r.outcome}${rule}${lease}  ${r.detailJson}`);
}

const OUTCOMES: readonly Outcome[] = ['GRANTED', 'PARTIAL', 'PENDING', 'DENIED'];

interface AuditFlags extends ConnectFlags {
  readonly host?: string;
  readonly app?: string;
  readonly rule?: string;
  readonly decision?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit: string;
  readonly jsonl?: boolean;
}

export function registerAdminCommands(program: Command): void {
  const admin = program
    .command('admin')
    .description('administer a running server over gRPC (admin certificate)');

  connectOptions(admin.command('leases').description('list leases with usage'))
    .option('--host <name>', 'only this host')
    .option('--all', 'include ended leases', false)
    .action(async (flags: ConnectFlags & { host?: string; all: boolean }) => {
      const res = await withClient(flags, (c) =>
        unary<ListLeasesResponse__Output>('ListLeases', (o, cb) =>
          c.ListLeases({ host: flags.host ?? '', includeEnded: flags.all, limit: 10_000 }, o, cb),
        ),
      );
      if (flags.json === true) {
        printJson(res);
        return;
      }
      const usage = new Map(res.usage.map((u) => [u.leaseId, u]));
      if (res.leases.length === 0) console.log('no leases');
      for (const l of res.leases) {
        const u = usage.get(l.id);
        printLease(
          l,
          u === undefined ? '' : `  used ${u.packets} pkts/${u.bytes} B${u.neverUsed ? ' (never used)' : ''}`,
        );
      }
    });

  connectOptions(admin.command('pending').description('list requests waiting for approval')).action(
    async (flags: ConnectFlags) => {
      const res = await withClient(flags, (c) =>
        unary<ListPendingResponse__Output>('ListPending', (o, cb) => c.ListPending({}, o, cb)),
      );
      if (flags.json === true) {
        printJson(res);
        return;
      }
      if (res.pending.length === 0) console.log('nothing is pending');
      for (const p of res.pending) {
        const req = p.request;
        console.log(
          `${p.pendingId}  ${p.host}  request ${req?.requestId ?? '?'}  expires in ${inSeconds(p.expiresAtUnixMs, Date.now())}`,
        );
        for (const o of req?.openings ?? []) console.log(`    ${formatOpening(o)}`);
        console.log(`    rule ${p.decision?.ruleId ?? '?'}: ${p.decision?.reason ?? ''}`);
        if (req !== null && req.description !== '') console.log(`    "${req.description}"`);
      }
    },
  );

  connectOptions(
    admin.command('approve').description('approve a pending request, optionally shorter or narrower'),
  )
    .argument('<pending-id>')
    .option('--ttl <duration>', 'grant a shorter TTL than proposed, e.g. 5m')
    .option('--source <cidr...>', 'narrow the sources to these CIDRs (inside the proposed ones)')
    .option('--comment <text>', 'recorded with the approval', '')
    .action(
      async (
        pendingId: string,
        flags: ConnectFlags & { ttl?: string; source?: string[]; comment: string },
      ) => {
        const ttlSeconds = flags.ttl === undefined ? 0 : parseTtlSeconds(flags.ttl, '--ttl');
        const res = await withClient(flags, (c) =>
          unary<OpenResponse__Output>('Approve', (o, cb) =>
            c.Approve(
              { pendingId, ttlSeconds, sourceCidrs: flags.source ?? [], comment: flags.comment },
              o,
              cb,
            ),
          ),
        );
        if (flags.json === true) {
          printJson(res);
          return;
        }
        printAnswer(res);
      },
    );

  connectOptions(admin.command('deny').description('deny a pending request; the host sees the reason'))
    .argument('<pending-id>')
    .requiredOption('--reason <text>', 'why (required)')
    .action(async (pendingId: string, flags: ConnectFlags & { reason: string }) => {
      const res = await withClient(flags, (c) =>
        unary<OpenResponse__Output>('Deny', (o, cb) => c.Deny({ pendingId, reason: flags.reason }, o, cb)),
      );
      if (flags.json === true) {
        printJson(res);
        return;
      }
      printAnswer(res);
    });

  connectOptions(admin.command('revoke').description('end a lease now; the host sees the reason'))
    .argument('<lease-id>')
    .requiredOption('--reason <text>', 'why (required)')
    .action(async (leaseId: string, flags: ConnectFlags & { reason: string }) => {
      const res = await withClient(flags, (c) =>
        unary<Lease__Output>('Revoke', (o, cb) => c.Revoke({ leaseId, reason: flags.reason }, o, cb)),
      );
      if (flags.json === true) {
        printJson(res);
        return;
      }
      printLease(res);
    });

  connectOptions(admin.command('audit').description('query the request log'))
    .option('--host <name>', 'records by or about this host')
    .option('--app <id>', 'requests naming this app')
    .option('--rule <id>', 'decided by this rule')
    .option('--decision <outcome>', OUTCOMES.join(' | '))
    .option('--since <time>', 'ISO 8601 time or ms since 1970')
    .option('--until <time>', 'ISO 8601 time or ms since 1970')
    .option('--limit <n>', 'newest N matching records', '1000')
    .option('--jsonl', 'one JSON object per line (export)', false)
    .action(async (flags: AuditFlags) => {
      const decision = (flags.decision ?? '').toUpperCase();
      if (decision !== '' && !(OUTCOMES as readonly string[]).includes(decision))
        throw invalid('--decision', `${JSON.stringify(flags.decision)} is not one of ${OUTCOMES.join(', ')}`);
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
        throw invalid('--limit', `${JSON.stringify(flags.limit)} is out of range; use 1-100000`);
      const query = {
        host: flags.host ?? '',
        app: flags.app ?? '',
        ruleId: flags.rule ?? '',
        decision: (decision === '' ? 'OUTCOME_UNSPECIFIED' : decision) as Outcome,
        sinceUnixMs: flags.since === undefined ? '0' : String(parseTime(flags.since, '--since')),
        untilUnixMs: flags.until === undefined ? '0' : String(parseTime(flags.until, '--until')),
        limit,
      };
      await withClient(flags, async (c) => {
        const stream = c.QueryAudit(query, { deadline: new Date(Date.now() + DEADLINE_MS * 4) });
        try {
          for await (const record of stream as AsyncIterable<AuditRecord__Output>) {
            if (flags.jsonl === true || flags.json === true) {
              const { detailJson, ...rest } = record;
              console.log(JSON.stringify({ ...rest, detail: JSON.parse(detailJson) as unknown }));
            } else printAudit(record);
          }
        } catch (e) {
          throw toClientError(e, 'QueryAudit');
        }
      });
    });

  connectOptions(
    admin.command('enforcers').description('list enforcers: heartbeat, applied revision, compliance'),
  ).action(async (flags: ConnectFlags) => {
    const res = await withClient(flags, (c) =>
      unary<ListEnforcersResponse__Output>('ListEnforcers', (o, cb) => c.ListEnforcers({}, o, cb)),
    );
    if (flags.json === true) {
      printJson(res);
      return;
    }
    if (res.enforcers.length === 0) console.log('no enforcers');
    for (const e of res.enforcers) {
      const beat =
        e.lastHeartbeatUnixMs === '0'
          ? 'never reported'
          : `last heartbeat ${new Date(Number(e.lastHeartbeatUnixMs)).toISOString()}`;
      console.log(
        `${e.name}  ${e.compliant ? 'compliant' : 'NOT COMPLIANT'}  revision ${e.appliedRevision}  ${beat}${e.error === '' ? '' : `  error: ${e.error}`}`,
      );
      for (const t of e.tamperEvents) console.log(`    tamper: ${t}`);
    }
  });
}
