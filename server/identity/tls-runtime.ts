/**
 * The live TLS material: loaded at start, swapped on reload (SIGHUP, a change of any of its
 * files) only when the new files pass every check of tls-material.ts; otherwise the old material
 * keeps serving and the error names the file and the problem. Listeners learn of each swap: the
 * listeners' secure contexts (new handshakes) and the lease streams of revoked certificates.
 */
import { realpathSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../log.js';
import { isPinholeError } from '../core/errors.js';
import { callAt } from '../core/long-timer.js';
import { loadTlsMaterial, sameMaterial, type TlsFiles, type TlsMaterial } from './tls-material.js';

export type TlsReloadOutcome =
  | { readonly ok: true; readonly changed: boolean; readonly revoked: number; readonly fingerprint: string }
  | { readonly ok: false; readonly error: string };

/** What the rpc layer needs: is a certificate revoked, and when does the list change. */
export interface RevocationSource {
  isRevoked(revocationKey: string): boolean;
  /**
   * Whether `issuer` (a peer certificate's issuer name) named a CA of an earlier bundle that the
   * current bundle no longer holds: TLS accepted the connection under the old bundle, and taking
   * the CA out (a compromised CA, the end of a rotation) must end it too. Judged by name, so a
   * replacement CA needs a name of its own (README, rotating the CA).
   */
  isIssuerRemoved(issuer: string): boolean;
  /** Called after each swap of the material; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

/** Files are often replaced as a pair (certificate, then key) or by rename: wait for the last one. */
const DEBOUNCE_MS = 300;
/** How long before a CRL's nextUpdate the log warns that it must be renewed. */
export const CRL_WARNING_MS = 12 * 3_600_000;

export class TlsRuntime implements RevocationSource {
  readonly #files: TlsFiles;
  readonly #log: Logger;
  #current: TlsMaterial;
  #reloading: Promise<TlsReloadOutcome>;
  readonly #listeners = new Set<(material: TlsMaterial) => void>();
  /** By directory; only while watchFiles is on. */
  readonly #watchers = new Map<string, FSWatcher>();
  #onFileChange: (() => void) | undefined;
  #debounce: NodeJS.Timeout | undefined;
  /** Cancels the timers at (and before) the current CRLs' nextUpdate. */
  #crlTimers: (() => void)[] = [];
  /** Subjects of every CA any bundle of this process held: a connection may date from any of them. */
  readonly #everTrusted = new Set<string>();
  #closed = false;

  private constructor(files: TlsFiles, material: TlsMaterial, log: Logger) {
    this.#files = files;
    this.#current = material;
    this.#log = log;
    for (const s of material.caSubjects) this.#everTrusted.add(s);
    this.#reloading = Promise.resolve(outcomeOf(material, false));
  }

  /** Loads and checks the files; refuses to start on bad material, naming the file and the problem. */
  static async open(files: TlsFiles, log: Logger): Promise<TlsRuntime> {
    const material = await loadTlsMaterial(files);
    const runtime = new TlsRuntime(files, material, log);
    runtime.#logLoaded('TLS material loaded');
    runtime.#armCrlTimers();
    return runtime;
  }

  get current(): TlsMaterial {
    return this.#current;
  }

  isRevoked(revocationKey: string): boolean {
    return this.#current.revoked.has(revocationKey);
  }

  isIssuerRemoved(issuer: string): boolean {
    return this.#everTrusted.has(issuer) && !this.#current.caSubjects.has(issuer);
  }

  onChange(listener: () => void): () => void {
    return this.onMaterial(() => {
      listener();
    });
  }

  /** As onChange, with the new material. */
  onMaterial(listener: (material: TlsMaterial) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reads the files again and swaps if they are good and differ. Reloads run one at a time. */
  reload(): Promise<TlsReloadOutcome> {
    if (this.#closed) return Promise.resolve({ ok: false, error: 'the TLS runtime is closed' });
    this.#reloading = this.#reloading.then(() => this.#reloadNow());
    return this.#reloading;
  }

  async #reloadNow(): Promise<TlsReloadOutcome> {
    let next: TlsMaterial;
    try {
      next = await loadTlsMaterial(this.#files);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.#log.error(
        isPinholeError(err) ? { error } : { err },
        `TLS reload refused, the previous certificates keep serving: ${error}`,
      );
      return { ok: false, error };
    }
    if (sameMaterial(next, this.#current)) return outcomeOf(next, false);
    const crl = this.#files.crl;
    if (this.#current.crlFile !== undefined && next.crlFile === undefined && crl !== undefined) {
      // The default crl.pem is optional at start; once in use, its disappearance (a botched
      // deploy, a cleanup) must not quietly switch revocation off for every revoked certificate.
      const error = `${crl.path}: the CRL in use is gone, and reloading without it would un-revoke ${this.#current.revoked.size} certificate(s); put the CRL back (pinhole certs crl writes one), or restart the server to run without revocation`;
      this.#log.error(
        { crlFile: crl.path },
        `TLS reload refused, the previous certificates keep serving: ${error}`,
      );
      return { ok: false, error };
    }
    this.#current = next;
    for (const s of next.caSubjects) this.#everTrusted.add(s);
    this.#logLoaded('TLS material reloaded');
    this.#armCrlTimers();
    for (const listener of [...this.#listeners]) {
      try {
        listener(next);
      } catch (err) {
        this.#log.error({ err }, 'a TLS reload listener failed');
      }
    }
    return outcomeOf(next, true);
  }

  /**
   * A CRL past its nextUpdate makes TLS refuse every client of its CA: the material was good when
   * loaded, so nothing else would say so at that moment. Logs a warning CRL_WARNING_MS before
   * (at once if already that close) and an error at the moment, for each CRL in use.
   */
  #armCrlTimers(): void {
    for (const cancel of this.#crlTimers.splice(0)) cancel();
    if (this.#closed) return;
    const file = this.#current.crlFile ?? 'the CRL file';
    for (const { ca, nextUpdate } of this.#current.crlExpiries) {
      const at = nextUpdate.toISOString();
      const fields = { crlFile: file, ca, crlNextUpdate: at };
      this.#crlTimers.push(
        callAt(nextUpdate.getTime() - CRL_WARNING_MS, () => {
          if (Date.now() >= nextUpdate.getTime()) return;
          const minutesLeft = Math.ceil((nextUpdate.getTime() - Date.now()) / 60_000);
          const left = minutesLeft < 120 ? `${minutesLeft} min` : `${Math.floor(minutesLeft / 60)} h`;
          this.#log.warn(
            fields,
            `${file}: the CRL of ${JSON.stringify(ca)} expires at ${at}, in ${left}; write a new one (pinhole certs crl) before then, or every client of that CA is refused`,
          );
        }),
        callAt(nextUpdate.getTime(), () => {
          this.#log.error(
            fields,
            `${file}: the CRL of ${JSON.stringify(ca)} expired at ${at}; every client of that CA is refused until a new CRL is written (pinhole certs crl)`,
          );
        }),
      );
    }
  }

  #logLoaded(message: string): void {
    const m = this.#current;
    this.#log.info(
      {
        serverFingerprint: m.serverFingerprint.slice(0, 16),
        serverNotAfter: m.serverNotAfter.toISOString(),
        crlFile: m.crlFile,
        revoked: m.revoked.size,
        crlNextUpdate: m.crlNextUpdate?.toISOString(),
      },
      message,
    );
  }

  /**
   * Calls `onChange` (debounced) when one of the files may have changed. Watches directories, not
   * files: certificates are usually replaced by a rename, which a watch on the old inode misses.
   * Any event in a watched directory counts, whatever its name: a Kubernetes secret volume swaps
   * its `..data` symlink, certbot repoints `live/` symlinks at new `archive/` files, and neither
   * event names our files. A reload that finds the same bytes is `unchanged` and swaps nothing,
   * so a stray event costs one read of the files. Besides the files' own directories, the
   * directories their symlinks resolve to are watched (a target rewritten in place), and that set
   * is worked out again after each change, since a swap moves the targets.
   */
  watchFiles(onChange: () => void): void {
    if (this.#closed || this.#onFileChange !== undefined) return;
    this.#onFileChange = onChange;
    this.#rewatch();
  }

  /** The directories to watch now: each file's own, and its symlink target's. */
  #watchedDirs(): Set<string> {
    const paths = [this.#files.ca, this.#files.cert, this.#files.key];
    if (this.#files.crl !== undefined) paths.push(this.#files.crl.path);
    const dirs = new Set<string>();
    for (const path of paths) {
      dirs.add(dirname(resolve(path)));
      try {
        dirs.add(dirname(realpathSync(path)));
      } catch {
        // Missing (an optional crl.pem, a dangling link mid-swap): its own directory covers it.
      }
    }
    return dirs;
  }

  #rewatch(): void {
    if (this.#closed) return;
    const wanted = this.#watchedDirs();
    for (const [dir, watcher] of this.#watchers) {
      if (wanted.has(dir)) continue;
      watcher.close();
      this.#watchers.delete(dir);
    }
    for (const dir of wanted) {
      if (this.#watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, () => {
          this.#fileEvent();
        });
        watcher.on('error', (err) => {
          // A target directory removed by a swap (Kubernetes deletes the old `..<timestamp>`):
          // the next rewatch drops it. Only a directory still in use is worth a warning.
          watcher.close();
          if (this.#watchers.get(dir) !== watcher) return;
          this.#watchers.delete(dir);
          if (this.#watchedDirs().has(dir))
            this.#log.warn({ err, dir }, 'watching TLS files failed; reload them with SIGHUP');
        });
        this.#watchers.set(dir, watcher);
      } catch (err) {
        this.#log.warn({ err, dir }, 'cannot watch TLS files; reload them with SIGHUP');
      }
    }
  }

  #fileEvent(): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#rewatch();
      this.#onFileChange?.();
    }, DEBOUNCE_MS);
    this.#debounce.unref();
  }

  /** Stops watching and drops the listeners; a reload in progress finishes. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#debounce);
    for (const cancel of this.#crlTimers.splice(0)) cancel();
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
    this.#onFileChange = undefined;
    this.#listeners.clear();
    await this.#reloading.catch(() => undefined);
  }
}

function outcomeOf(m: TlsMaterial, changed: boolean): TlsReloadOutcome {
  return { ok: true, changed, revoked: m.revoked.size, fingerprint: m.serverFingerprint };
}
