/** What every figure module exports, and what the runner gives it. */
import type { Row } from './report.js';

export interface FigureContext {
  /** `--quick`: shorter runs, fewer samples, the largest sizes skipped. */
  readonly quick: boolean;
  /** A dev PKI shared by every figure (server, host, firewall and admin certificates). */
  readonly certDir: string;
  /** A progress line on stderr. */
  readonly log: (message: string) => void;
}

export interface Figure {
  readonly id: number;
  readonly title: string;
  /** The runner abandons the figure (and releases what it started) after this long. */
  readonly timeoutMs: { readonly quick: number; readonly full: number };
  run(ctx: FigureContext): Promise<Row[]>;
}
