/**
 * Runs the doctor's checks in order and collects every finding: nothing stops at the first problem,
 * so one run lists everything to fix.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import { checkCertificates } from './certs.js';
import { checkClock } from './clock.js';
import { checkNft } from './nft.js';
import { checkPolicy, checkStore } from './store.js';
import { CHECK_NAMES, errorText, finding, type CheckName, type Finding } from './types.js';

export interface DoctorOptions {
  readonly config: Readonly<Config>;
  /** Checks to leave out. */
  readonly skip?: readonly CheckName[];
  /** Certificate base names to check (default: every *.crt in certs.dir). */
  readonly identities?: readonly string[];
  /** nft binary (name in PATH or path). */
  readonly nft?: string;
  readonly skipKernel?: boolean;
  /** Admin listener to ask for the time; default config.admin.listen. */
  readonly serverAdmin?: string;
  /** Client certificate base name for the clock check; default `server`, else the first leaf found. */
  readonly clockIdentity?: string;
  readonly maxSkewMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: () => number;
}

function clockIdentity(o: DoctorOptions): string | undefined {
  if (o.clockIdentity !== undefined) return o.clockIdentity;
  const dir = o.config.certs.dir;
  const found = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.crt') && f !== 'ca.crt')
        .map((f) => f.slice(0, -4))
        .sort()
    : [];
  return ['server', ...(o.identities ?? []), ...found].find(
    (base) => existsSync(join(dir, `${base}.crt`)) && existsSync(join(dir, `${base}.key`)),
  );
}

async function runOne(name: CheckName, o: DoctorOptions): Promise<Finding[]> {
  const { config } = o;
  switch (name) {
    case 'certs':
      return checkCertificates({
        dir: config.certs.dir,
        ...(o.identities === undefined ? {} : { identities: o.identities }),
        ...(config.certs.trustDomain === undefined ? {} : { trustDomain: config.certs.trustDomain }),
        ...(o.now === undefined ? {} : { now: o.now }),
      });
    case 'store':
      return checkStore(config);
    case 'policy':
      return checkPolicy(config.policy.file);
    case 'nft':
      return checkNft({
        ...(o.nft === undefined ? {} : { nft: o.nft }),
        ...(o.skipKernel === undefined ? {} : { skipKernel: o.skipKernel }),
        ...(o.env === undefined ? {} : { env: o.env }),
      });
    case 'clock': {
      const identity = clockIdentity(o);
      const address = o.serverAdmin ?? config.admin.listen;
      if (identity === undefined) {
        return [
          finding(
            'clock',
            'fail',
            `server ${address}`,
            `no client certificate with its key in ${config.certs.dir} to ask the server with`,
            'pass --client BASE (e.g. firewall-gw-1), or --skip clock',
          ),
        ];
      }
      return checkClock({
        address,
        certDir: config.certs.dir,
        identity,
        ...(o.maxSkewMs === undefined ? {} : { maxSkewMs: o.maxSkewMs }),
        ...(o.now === undefined ? {} : { now: o.now }),
      });
    }
  }
}

export async function runDoctor(o: DoctorOptions): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const name of CHECK_NAMES) {
    if (o.skip?.includes(name) === true) {
      findings.push(finding(name, 'skip', name, 'skipped (--skip)'));
      continue;
    }
    try {
      findings.push(...(await runOne(name, o)));
    } catch (e) {
      findings.push(
        finding(
          name,
          'fail',
          name,
          `the check itself failed: ${errorText(e)}`,
          'report this with the output of pinhole doctor',
        ),
      );
    }
  }
  return findings;
}
