/**
 * The server configuration: parsed once at startup, every bad key reported by path, then frozen.
 * Each option carries its documentation; the README's reference mirrors it.
 */
import { z } from 'zod';

export const ConfigSchema = z
  .object({
    /** host:port of the gRPC mTLS listener. Port 0 picks a free port (printed at start). */
    listen: z.string().regex(/^.+:\d{1,5}$/, 'use HOST:PORT, e.g. 127.0.0.1:7443').default('127.0.0.1:7443'),
    /** Directory for the SQLite database and server keys. Created 0700 if missing. */
    dataDir: z.string().min(1).default('data'),
    admin: z
      .object({
        /**
         * host:port of the admin web console and its JSON API: HTTPS, admin client certificates
         * only. Port 0 picks a free port (tests). Keep it on loopback or an admin network.
         */
        listen: z.string().regex(/^.+:\d{1,5}$/, 'use HOST:PORT, e.g. 127.0.0.1:7444').default('127.0.0.1:7444'),
      })
      .strict()
      .default({ listen: '127.0.0.1:7444' }),
    certs: z
      .object({
        /** Directory holding ca.crt, server.crt, server.key and trust-domain. */
        dir: z.string().min(1).default('certs'),
        /** Generate a development PKI into `dir` on first start when ca.crt is missing. */
        autoInit: z.boolean().default(true),
        /** SPIFFE trust domain; default: the `trust-domain` file in `dir`. */
        trustDomain: z.string().optional(),
      })
      .strict()
      .default({ dir: 'certs', autoInit: true }),
    policy: z
      .object({
        /** Policy file (YAML). */
        file: z.string().min(1).default('examples/policy.yaml'),
        /** Reload when the file changes (SIGHUP always reloads). */
        watch: z.boolean().default(true),
      })
      .strict()
      .default({ file: 'examples/policy.yaml', watch: true }),
    store: z
      .discriminatedUnion('kind', [
        z
          .object({
            kind: z.literal('sqlite'),
            /** Database file; default <dataDir>/pinhole.db. */
            path: z.string().optional(),
            /** Revisions of lease events kept for watch resumes; older resumes get RESET + snapshot. */
            retainRevisions: z.number().int().min(10).max(100_000_000).default(100_000),
          })
          .strict(),
        z.object({ kind: z.literal('postgres'), url: z.string().min(1) }).strict(),
      ])
      .default({ kind: 'sqlite', retainRevisions: 100_000 }),
    leases: z
      .object({
        /** How often the expiry sweeper looks for ended terms, ms. */
        sweepIntervalMs: z.number().int().min(50).max(60_000).default(1000),
        /** How long a PENDING request waits for an admin, seconds. */
        pendingTimeoutSeconds: z.number().int().min(1).max(604_800).default(3600),
      })
      .strict()
      .default({ sweepIntervalMs: 1000, pendingTimeoutSeconds: 3600 }),
    watch: z
      .object({
        /** Events queued per subscriber before a slow one is cut with RESOURCE_EXHAUSTED. */
        queueLimit: z.number().int().min(10).max(1_000_000).default(10_000),
        /** PROGRESS heartbeat interval on lease streams, ms. */
        progressIntervalMs: z.number().int().min(100).max(600_000).default(5000),
        /** Enforcers must report at least this often; 3 missed reports = non-compliant. */
        heartbeatSeconds: z.number().int().min(1).max(3600).default(10),
      })
      .strict()
      .default({ queueLimit: 10_000, progressIntervalMs: 5000, heartbeatSeconds: 10 }),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
    limits: z
      .object({
        /** Largest gRPC request accepted, bytes. */
        maxReceiveMessageBytes: z.number().int().min(64 * 1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024),
      })
      .strict()
      .default({ maxReceiveMessageBytes: 4 * 1024 * 1024 }),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
