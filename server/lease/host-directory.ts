/**
 * The hosts the server has seen, name -> certificate addresses, so that policy can turn
 * `host:` sources and host-name groups into addresses. Kept in memory, persisted in the store.
 */
import type { HostDirectory } from '../policy/api.js';
import type { KnownHost, Store } from '../store/store.js';

export class HostDirectoryCache implements HostDirectory {
  readonly #hosts = new Map<string, readonly string[]>();
  readonly #store: Store;
  /** Bumped on every change, so policy can cache group resolutions per revision. */
  revision = 0;

  private constructor(store: Store) {
    this.#store = store;
  }

  static async load(store: Store): Promise<HostDirectoryCache> {
    const dir = new HostDirectoryCache(store);
    for (const h of await store.listHosts()) dir.#hosts.set(h.name, h.addresses);
    return dir;
  }

  addressesOf(hostName: string): readonly string[] | undefined {
    return this.#hosts.get(hostName);
  }

  hostNames(): Iterable<string> {
    return this.#hosts.keys();
  }

  /** Records a host's certificate addresses; writes only when they changed. */
  async observe(name: string, addresses: readonly string[], nowMs: number): Promise<void> {
    const known = this.#hosts.get(name);
    if (known !== undefined && sameSet(known, addresses)) return;
    this.#hosts.set(name, [...addresses]);
    this.revision++;
    const host: KnownHost = { name, addresses: [...addresses], lastSeenMs: nowMs };
    await this.#store.upsertHost(host);
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
