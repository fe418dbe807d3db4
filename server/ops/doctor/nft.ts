/**
 * nftables: is the binary there, which version, and does this kernel accept what the agent needs —
 * a set with concatenated, interval, timeout keys and per-element counters (DESIGN.md §6)? The
 * kernel test runs in a network namespace of its own (`unshare --net`) that vanishes with the
 * process, so the live ruleset is never touched, not even for a moment.
 */
import { release } from 'node:os';
import { accessSync, constants } from 'node:fs';
import { runProcess } from '../../../client-sdk/enforcer/run-process.js';
import { errorText, finding, type Finding } from './types.js';

export interface NftCheckOptions {
  /** The nft binary: a name looked up in PATH, or a path. Default `nft`. */
  readonly nft?: string;
  /** Default `unshare`. */
  readonly unshare?: string;
  /** Skip the scratch-table test (it needs root: CAP_SYS_ADMIN for the namespace). */
  readonly skipKernel?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

const SCRATCH_TABLE = 'pinhole_doctor';

/** The agent's set shape, both families, one element each with a timeout. */
const SCRATCH_SCRIPT = `table inet ${SCRATCH_TABLE} {
  set open4 {
    type ipv4_addr . inet_proto . inet_service . ipv4_addr
    flags interval,timeout
    counter
  }
  set open6 {
    type ipv6_addr . inet_proto . inet_service . ipv6_addr
    flags interval,timeout
    counter
  }
}
add element inet ${SCRATCH_TABLE} open4 { 198.18.1.0/24 . tcp . 5432-5433 . 198.18.0.2 timeout 60s comment "pinhole-doctor" }
add element inet ${SCRATCH_TABLE} open6 { 2001:db8::/64 . tcp . 5432-5433 . 2001:db8::2 timeout 60s comment "pinhole-doctor" }
`;

/** The absolute path of `command` (as given, or found in PATH), or undefined. */
export function findExecutable(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const executable = (p: string): boolean => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (command.includes('/')) return executable(command) ? command : undefined;
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    const candidate = `${dir}/${command}`;
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

function versionOf(text: string): { text: string; major: number; minor: number } | undefined {
  const m = /v(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (m === null) return undefined;
  return { text: m[0], major: Number(m[1]), minor: Number(m[2]) };
}

export async function checkNft(o: NftCheckOptions = {}): Promise<Finding[]> {
  const name = o.nft ?? 'nft';
  const env = o.env ?? process.env;
  const nft = findExecutable(name, env);
  if (nft === undefined) {
    return [
      finding(
        'nft',
        'fail',
        name,
        name.includes('/') ? 'not found or not executable' : `not found in PATH (${env.PATH ?? ''})`,
        'install nftables (apt-get install nftables), or pass --nft /path/to/nft',
      ),
      finding('nft', 'skip', 'kernel', 'not tested: needs the nft binary'),
    ];
  }
  const out: Finding[] = [];
  try {
    const r = await runProcess([nft, '--version'], { timeoutMs: 10_000 });
    const version = versionOf(r.stdout);
    if (r.code !== 0 || version === undefined) {
      out.push(
        finding(
          'nft',
          'fail',
          nft,
          `\`nft --version\` failed: ${(r.stderr || r.stdout).trim() || `exit ${r.code ?? r.signal ?? '?'}`}`,
          'reinstall nftables',
        ),
      );
    } else if (version.major < 1) {
      out.push(
        finding(
          'nft',
          'warn',
          nft,
          `nftables ${version.text}: Pinhole is verified with 1.0.6; older versions mishandle concatenated ranges`,
          'upgrade nftables to 1.0 or later',
        ),
      );
    } else {
      out.push(finding('nft', 'ok', nft, `nftables ${version.text}`));
    }
  } catch (e) {
    out.push(
      finding('nft', 'fail', nft, `cannot run: ${errorText(e)}`, 'check the binary and its permissions'),
    );
    return out;
  }
  if (o.skipKernel === true) {
    out.push(finding('nft', 'skip', 'kernel', 'scratch-table test skipped (--skip-kernel)'));
    return out;
  }
  out.push(await kernelCheck(nft, o.unshare ?? 'unshare', env));
  return out;
}

async function kernelCheck(nft: string, unshareName: string, env: NodeJS.ProcessEnv): Promise<Finding> {
  const subject = `kernel ${release()}`;
  const unshare = findExecutable(unshareName, env);
  if (unshare === undefined) {
    return finding(
      'nft',
      'warn',
      subject,
      'not tested: `unshare` (util-linux) is missing, and doctor will not touch the live ruleset',
      'install util-linux, or run with --skip-kernel',
    );
  }
  // sh runs the three steps in the one throwaway namespace; nft's path is passed as $1, never quoted into the script.
  const steps = `"$1" -f - && "$1" -j list set inet ${SCRATCH_TABLE} open4 && "$1" delete table inet ${SCRATCH_TABLE}`;
  try {
    const r = await runProcess([unshare, '--net', '--', 'sh', '-c', steps, 'sh', nft], {
      stdin: SCRATCH_SCRIPT,
      timeoutMs: 15_000,
    });
    if (r.code !== 0) {
      const why = (r.stderr || r.stdout).trim().split('\n').slice(0, 3).join(' / ');
      if (/unshare failed|Operation not permitted/i.test(why)) {
        return finding(
          'nft',
          'warn',
          subject,
          `not tested: cannot create a scratch network namespace (${why})`,
          'run doctor as root to test kernel support, or --skip-kernel',
        );
      }
      return finding(
        'nft',
        'fail',
        subject,
        `a concatenated interval set with timeouts was refused: ${why}`,
        'use a kernel with nf_tables concatenated ranges (5.6+) and the nft_set_pipapo module',
      );
    }
    if (!r.stdout.includes('"timeout"') || !r.stdout.includes('pinhole-doctor')) {
      return finding(
        'nft',
        'fail',
        subject,
        'the scratch element was not listed back with its timeout',
        'use a kernel with nf_tables set timeouts and element comments (5.6+)',
      );
    }
    return finding(
      'nft',
      'ok',
      subject,
      'concatenated interval sets with timeouts and counters work (tested in a scratch namespace)',
    );
  } catch (e) {
    return finding(
      'nft',
      'fail',
      subject,
      `the scratch test could not run: ${errorText(e)}`,
      'check unshare and nft, or run with --skip-kernel',
    );
  }
}
