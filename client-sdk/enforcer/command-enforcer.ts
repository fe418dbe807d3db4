/**
 * A backend for firewalls that are not nftables: each operation is one JSON line on the stdin of a freshly
 * spawned program (no shell), and a non-zero exit is an error. Spawning per batch keeps the contract
 * trivial for script authors (read one line, act, exit) and means a crashed adapter cannot wedge us.
 *
 * Lines sent:
 * - `{"op":"init"}`
 * - `{"op":"apply","upserts":[EnforcerLease...],"deletes":["lease-id"...]}`: all-or-nothing is the
 *   program's promise; exit non-zero if nothing was applied.
 * - `{"op":"reconcile","desired":[EnforcerLease...]}`: the program may print a JSON `ReconcileReport`.
 * - `{"op":"counters"}`: the program may print `[{"leaseId","packets","bytes"}...]`.
 */
import { EnforcerError } from './errors.js';
import { isRecord } from './nft-keys.js';
import { runProcess } from './run-process.js';
import type { ApplyBatch, Enforcer, EnforcerLease, LeaseCounter, ReconcileReport } from './types.js';

/** Options of `CommandEnforcer`. */
export interface CommandEnforcerOptions {
  /** Argv of the adapter program, e.g. `['/usr/local/bin/pinhole-pf']`. */
  readonly command: readonly string[];
  /** Kill the program after this long; default 30 s. */
  readonly timeoutMs?: number;
}

/** Runs an external program per operation. Operations are serialised: one program at a time. */
export class CommandEnforcer implements Enforcer {
  readonly #command: readonly string[];
  readonly #timeoutMs: number;
  #queue: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  constructor(options: CommandEnforcerOptions) {
    if (options.command.length === 0)
      throw new EnforcerError('INVALID_CONFIG', 'command: empty; give the adapter program argv');
    this.#command = options.command;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  #send(message: Record<string, unknown>): Promise<string> {
    if (this.#closing !== undefined)
      return Promise.reject(new EnforcerError('CLOSED', 'the command enforcer is closed'));
    const run = this.#queue.then(async () => {
      const op = String(message.op);
      let result;
      try {
        result = await runProcess(this.#command, {
          stdin: `${JSON.stringify(message)}\n`,
          timeoutMs: this.#timeoutMs,
        });
      } catch (e) {
        throw new EnforcerError(
          'COMMAND_FAILED',
          `could not run ${this.#command.join(' ')} for ${op}: ${String(e)}`,
          { cause: e },
        );
      }
      if (result.code !== 0) {
        const how = result.code === null ? `killed by ${result.signal ?? 'signal'}` : `exit ${result.code}`;
        throw new EnforcerError(
          'COMMAND_FAILED',
          `${this.#command.join(' ')} failed ${op} (${how}): ${result.stderr.trim().slice(0, 2000)}`,
        );
      }
      return result.stdout;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Sends `{"op":"init"}`. */
  async init(): Promise<void> {
    await this.#send({ op: 'init' });
  }

  /** Sends the batch as one `apply` line. */
  async apply(batch: ApplyBatch): Promise<void> {
    await this.#send({ op: 'apply', upserts: batch.upserts, deletes: batch.deletes });
  }

  /** Sends `reconcile` with every desired lease; parses a printed report, else reports nothing found. */
  async reconcile(desired: ReadonlyMap<string, EnforcerLease>): Promise<ReconcileReport> {
    const out = (await this.#send({ op: 'reconcile', desired: [...desired.values()] })).trim();
    const report: ReconcileReport = { tampered: false, missing: 0, extra: 0, events: [] };
    if (out === '') return report;
    const parsed = parseJson(out, 'reconcile');
    if (!isRecord(parsed))
      throw new EnforcerError(
        'COMMAND_FAILED',
        'reconcile: the program printed JSON that is not a report object',
      );
    if (typeof parsed.tampered === 'boolean') report.tampered = parsed.tampered;
    if (typeof parsed.missing === 'number') report.missing = parsed.missing;
    if (typeof parsed.extra === 'number') report.extra = parsed.extra;
    if (Array.isArray(parsed.events)) report.events = (parsed.events as unknown[]).map(String);
    return report;
  }

  /** Sends `counters`; an adapter without counters prints nothing and gets `[]`. */
  async counters(): Promise<LeaseCounter[]> {
    const out = (await this.#send({ op: 'counters' })).trim();
    if (out === '') return [];
    const parsed = parseJson(out, 'counters');
    if (!Array.isArray(parsed))
      throw new EnforcerError('COMMAND_FAILED', 'counters: the program printed JSON that is not an array');
    return (parsed as unknown[]).filter(isRecord).map((c) => ({
      leaseId: String(c.leaseId),
      packets: typeof c.packets === 'number' ? c.packets : 0,
      bytes: typeof c.bytes === 'number' ? c.bytes : 0,
    }));
  }

  /** Waits for the running operation; later calls fail with CLOSED. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#queue.then(() => undefined);
    return this.#closing;
  }
}

function parseJson(text: string, op: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new EnforcerError(
      'COMMAND_FAILED',
      `${op}: the program printed invalid JSON: ${text.slice(0, 200)}`,
      { cause: e },
    );
  }
}
