/**
 * The server configuration: parsed once at startup, every bad key reported by path, then frozen.
 * Each option's `.describe()` text is its documentation: `pinhole config reference` prints the
 * README's "Configuration reference" table from it (server/config/options.ts), so the two cannot drift.
 */
import { z } from 'zod';

const hostPort = (example: string): z.ZodString =>
  z.string().regex(/^.+:\d{1,5}$/, `use HOST:PORT, e.g. ${example}`);

export const ConfigSchema = z
  .object({
    listen: hostPort('127.0.0.1:7443')
      .default('127.0.0.1:7443')
      .describe(
        'host:port of the gRPC mTLS listener (Opening, LeaseWatch, Admin, grpc.health.v1, reflection). Port 0 picks a free port (printed at start).',
      ),
    dataDir: z
      .string()
      .min(1)
      .default('data')
      .describe('Directory for the SQLite database and the receipt signing key. Created 0700 if missing.'),
    admin: z
      .object({
        listen: hostPort('127.0.0.1:7444')
          .default('127.0.0.1:7444')
          .describe(
            'host:port of the admin web console, its JSON API and `/metrics`: HTTPS, Pinhole client certificates only (admin role for everything but the JWKS). Port 0 picks a free port. Keep it on loopback or an admin network.',
          ),
      })
      .strict()
      .default({ listen: '127.0.0.1:7444' }),
    certs: z
      .object({
        dir: z
          .string()
          .min(1)
          .default('certs')
          .describe('Directory holding ca.crt, server.crt, server.key and trust-domain.'),
        autoInit: z
          .boolean()
          .default(true)
          .describe(
            'Generate a development PKI into `certs.dir` on first start when ca.crt is missing. Turn off in production.',
          ),
        trustDomain: z
          .string()
          .optional()
          .describe('SPIFFE trust domain; default: the `trust-domain` file in `certs.dir`.'),
        crlFile: z
          .string()
          .min(1)
          .optional()
          .describe(
            'Certificate revocation list (PEM, one CRL per CA in ca.crt), checked at every handshake and every call; streams of a certificate it revokes are closed on reload. Default: `crl.pem` in `certs.dir` when present (`pinhole certs revoke` writes it).',
          ),
        watch: z
          .boolean()
          .default(true)
          .describe(
            'Reload ca.crt, server.crt, server.key and the CRL when they change, without a restart; open connections and lease streams go on (SIGHUP always reloads).',
          ),
        grpcCipherSuites: z
          .string()
          .min(1)
          .optional()
          .describe(
            "OpenSSL cipher list for the gRPC listener's TLS 1.2 handshakes, as grpc-js's own GRPC_SSL_CIPHER_SUITES (also read, when this is not set). Default: Node's.",
          ),
      })
      .strict()
      .default({ dir: 'certs', autoInit: true, watch: true }),
    policy: z
      .object({
        file: z.string().min(1).default('examples/policy.yaml').describe('Policy file (YAML).'),
        watch: z
          .boolean()
          .default(true)
          .describe('Reload when the file changes (SIGHUP and the admin API always reload).'),
      })
      .strict()
      .default({ file: 'examples/policy.yaml', watch: true }),
    store: z
      .discriminatedUnion('kind', [
        z
          .object({
            kind: z
              .literal('sqlite')
              .describe(
                'Storage backend: `sqlite` (embedded, default) or `postgres` (several servers share state).',
              ),
            path: z.string().optional().describe('SQLite database file; default `<dataDir>/pinhole.db`.'),
            // `main` by default: on 2 cores, bench figure 1 measured 15-25% fewer Open+Release pairs/s
            // with the worker (its messages cost ~6% more CPU per pair in all, and no core was idle
            // to take the rest) and 45 MiB more RSS at 100k leases. `worker` keeps statements,
            // COMMIT's fsync and WAL checkpoints off the event loop that serves TLS and gRPC, for
            // servers with cores to spare.
            thread: z
              .enum(['worker', 'main'])
              .default('main')
              .describe(
                "Where SQLite runs: `worker` (its own thread, off the event loop that serves requests) or `main` (the event-loop thread; saves the thread's memory).",
              ),
            retainRevisions: z
              .number()
              .int()
              .min(10)
              .max(100_000_000)
              .default(100_000)
              .describe(
                'Revisions of lease events kept for watch resumes; an older resume gets RESET and a snapshot.',
              ),
          })
          .strict(),
        z
          .object({
            kind: z.literal('postgres'),
            url: z
              .string()
              .min(1)
              .describe(
                'PostgreSQL connection URL (store.kind postgres), e.g. `postgres://pinhole@db/pinhole`.',
              ),
            poolSize: z
              .number()
              .int()
              .min(2)
              .max(200)
              .default(10)
              .describe(
                'Pooled database connections per server for commits and reads (one more is kept for LISTEN).',
              ),
            retainRevisions: z
              .number()
              .int()
              .min(10)
              .max(100_000_000)
              .default(100_000)
              .describe(
                'Revisions of lease events kept for watch resumes (shared by all servers on the database).',
              ),
          })
          .strict(),
      ])
      .default({ kind: 'sqlite', thread: 'main', retainRevisions: 100_000 }),
    leases: z
      .object({
        sweepIntervalMs: z
          .number()
          .int()
          .min(50)
          .max(60_000)
          .default(1000)
          .describe('How often the expiry sweeper ends leases whose term is over, ms.'),
        pendingTimeoutSeconds: z
          .number()
          .int()
          .min(1)
          .max(604_800)
          .default(3600)
          .describe('How long a PENDING request waits for an admin before it is denied, seconds.'),
      })
      .strict()
      .default({ sweepIntervalMs: 1000, pendingTimeoutSeconds: 3600 }),
    audit: z
      .object({
        retentionDays: z
          .number()
          .int()
          .min(1)
          .max(36_500)
          .optional()
          .describe(
            'Prune request-log records older than this many days, leaving a signed checkpoint so `pinhole audit verify` still holds (README "Audit retention"). Unset: keep every record.',
          ),
        pruneIntervalMs: z
          .number()
          .int()
          .min(100)
          .max(86_400_000)
          .default(3_600_000)
          .describe(
            'How often the server applies `audit.retentionDays`, ms; the first run is at most a minute after start.',
          ),
      })
      .strict()
      .default({ pruneIntervalMs: 3_600_000 }),
    watch: z
      .object({
        queueLimit: z
          .number()
          .int()
          .min(10)
          .max(1_000_000)
          .default(10_000)
          .describe(
            'Events queued per lease-stream subscriber before a slow one is cut with RESOURCE_EXHAUSTED.',
          ),
        progressIntervalMs: z
          .number()
          .int()
          .min(100)
          .max(600_000)
          .default(5000)
          .describe('PROGRESS heartbeat interval on lease streams, ms.'),
        heartbeatSeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .default(10)
          .describe(
            'Enforcers must report at least this often; three missed reports mark one non-compliant.',
          ),
      })
      .strict()
      .default({ queueLimit: 10_000, progressIntervalMs: 5000, heartbeatSeconds: 10 }),
    health: z
      .object({
        probeIntervalMs: z
          .number()
          .int()
          .min(100)
          .max(60_000)
          .default(1000)
          .describe(
            'How often a cheap store read checks the store; a failed probe (or a failed commit) turns grpc.health.v1 NOT_SERVING.',
          ),
        probeTimeoutMs: z
          .number()
          .int()
          .min(50)
          .max(60_000)
          .default(2000)
          .describe('A store probe slower than this counts as failed, ms.'),
      })
      .strict()
      .default({ probeIntervalMs: 1000, probeTimeoutMs: 2000 }),
    shutdown: z
      .object({
        graceMs: z
          .number()
          .int()
          .min(0)
          .max(600_000)
          .default(10_000)
          .describe(
            'On SIGTERM: how long requests in flight may take to finish before connections are cut, ms. Lease streams end at once with UNAVAILABLE.',
          ),
      })
      .strict()
      .default({ graceMs: 10_000 }),
    log: z
      .object({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .describe('Log level of the JSON log on stdout (one line per request, with request_id).'),
      })
      .strict()
      .default({ level: 'info' }),
    limits: z
      .object({
        maxReceiveMessageBytes: z
          .number()
          .int()
          .min(64 * 1024)
          .max(64 * 1024 * 1024)
          .default(4 * 1024 * 1024)
          .describe('Largest gRPC request accepted, bytes.'),
        requestsPerSecond: z
          .number()
          .positive()
          .max(1_000_000)
          .default(200)
          .describe(
            'Sustained Open/Renew/Release calls per second per identity (token bucket); more are refused with RESOURCE_EXHAUSTED and a retry-after.',
          ),
        burst: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .default(400)
          .describe('Open/Renew/Release calls one identity may make at once after being idle.'),
        refusalHoldMs: z
          .number()
          .int()
          .min(0)
          .max(10_000)
          .default(250)
          .describe(
            'A call refused by the rate limit is answered after this long (at most half the time left to its deadline), so a client that ignores retry-after cannot set the pace of its refusals; 0 answers at once.',
          ),
        maxHeldRefusals: z
          .number()
          .int()
          .min(0)
          .max(1_000_000)
          .default(1024)
          .describe('Most refused calls held at once, server-wide; past it a refusal is answered at once.'),
        maxLiveLeasesPerHost: z
          .number()
          .int()
          .min(1)
          .max(10_000_000)
          .default(1000)
          .describe('Live leases one host may hold; an Open beyond it is refused with RESOURCE_EXHAUSTED.'),
        maxPendingPerHost: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .default(100)
          .describe('Requests one host may have waiting for an administrator.'),
        maxWatchStreamsPerFirewall: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(8)
          .describe('Lease streams (Watch) one firewall identity may hold open at once.'),
        maxConcurrentStreams: z
          .number()
          .int()
          .min(1)
          .max(100_000)
          .default(256)
          .describe(
            'HTTP/2 streams (calls in progress) per connection (`grpc.max_concurrent_streams`); further calls wait on the client.',
          ),
        maxConnectionIdleMs: z
          .number()
          .int()
          .min(100)
          .max(86_400_000)
          .default(600_000)
          .describe(
            'A connection with no call in progress for this long is closed with GOAWAY (`grpc.max_connection_idle_ms`); a client reconnects on its next call. Lease streams keep their connection busy.',
          ),
        keepaliveTimeMs: z
          .number()
          .int()
          .min(100)
          .max(86_400_000)
          .default(60_000)
          .describe('The server pings every connection this often (`grpc.keepalive_time_ms`).'),
        keepaliveTimeoutMs: z
          .number()
          .int()
          .min(100)
          .max(3_600_000)
          .default(20_000)
          .describe(
            'A peer that does not answer a ping within this long is disconnected and its calls and streams end (`grpc.keepalive_timeout_ms`).',
          ),
      })
      .strict()
      .default({
        maxReceiveMessageBytes: 4 * 1024 * 1024,
        requestsPerSecond: 200,
        burst: 400,
        refusalHoldMs: 250,
        maxHeldRefusals: 1024,
        maxLiveLeasesPerHost: 1000,
        maxPendingPerHost: 100,
        maxWatchStreamsPerFirewall: 8,
        maxConcurrentStreams: 256,
        maxConnectionIdleMs: 600_000,
        keepaliveTimeMs: 60_000,
        keepaliveTimeoutMs: 20_000,
      }),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
