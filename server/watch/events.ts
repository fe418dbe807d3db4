/** What a lease stream carries (DESIGN.md §4). */
import type { EndReason, Lease } from '../core/types.js';

export type WatchItem =
  | { readonly type: 'UPSERT'; readonly revision: number; readonly lease: Lease; readonly snapshot: boolean }
  | { readonly type: 'DELETE'; readonly revision: number; readonly lease: Lease; readonly reason: EndReason }
  | { readonly type: 'PROGRESS'; readonly revision: number }
  | { readonly type: 'RESET'; readonly revision: number };
