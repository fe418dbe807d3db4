/**
 * The console's static files, read once at start from `server/admin/static`. The folder is
 * found by walking up from this module, as server/rpc/proto.ts finds proto/, so the same code
 * works from source (tsx) and from dist/ without copying files at build time.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** `server/admin/static`, from source (server/admin) or build output (dist/server/admin). */
export function staticRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'server', 'admin', 'static');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`server/admin/static not found above ${fileURLToPath(import.meta.url)}`);
}

/**
 * URL path -> file, for the files present at start and nothing else: a fixed map cannot be
 * talked into `..` or a symlink, whatever the request path holds.
 */
export function loadStaticFiles(root: string = staticRoot()): ReadonlyMap<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(root)) {
    const type = TYPES[extname(name)];
    const path = join(root, name);
    if (type === undefined || !statSync(path).isFile()) continue;
    files.set(`/${name}`, { body: readFileSync(path), contentType: type });
  }
  const index = files.get('/index.html');
  if (index !== undefined) files.set('/', index);
  return files;
}
