/**
 * A static centered interval tree: which stored intervals overlap [from, to]? O(log n + k) per query.
 * Chosen over a per-port segment table because a few wide rules (tcp/1-65535) would otherwise be copied
 * into every segment; here each interval is stored once.
 */

export interface Interval<T> {
  readonly from: number;
  readonly to: number;
  readonly value: T;
}

interface Node<T> {
  readonly center: number;
  /** Intervals containing `center`, ascending by `from`. */
  readonly byFrom: readonly Interval<T>[];
  /** The same intervals, descending by `to`. */
  readonly byTo: readonly Interval<T>[];
  readonly left: Node<T> | undefined;
  readonly right: Node<T> | undefined;
}

function build<T>(items: readonly Interval<T>[]): Node<T> | undefined {
  if (items.length === 0) return undefined;
  const points = items.flatMap((i) => [i.from, i.to]).sort((a, b) => a - b);
  const center = points[Math.floor(points.length / 2)] as number;
  const here: Interval<T>[] = [];
  const left: Interval<T>[] = [];
  const right: Interval<T>[] = [];
  for (const i of items) {
    if (i.to < center) left.push(i);
    else if (i.from > center) right.push(i);
    else here.push(i);
  }
  return {
    center,
    byFrom: [...here].sort((a, b) => a.from - b.from),
    byTo: [...here].sort((a, b) => b.to - a.to),
    left: build(left),
    right: build(right),
  };
}

export class IntervalTree<T> {
  readonly #root: Node<T> | undefined;
  readonly size: number;

  constructor(items: readonly Interval<T>[]) {
    this.#root = build(items);
    this.size = items.length;
  }

  /** Calls `visit` for every stored interval overlapping [from, to] (inclusive). */
  query(from: number, to: number, visit: (value: T) => void): void {
    let node = this.#root;
    const pending: Node<T>[] = [];
    while (node !== undefined || pending.length > 0) {
      if (node === undefined) node = pending.pop();
      if (node === undefined) break;
      if (to < node.center) {
        // Every interval here contains center > to: it overlaps iff it starts at or before `to`.
        for (const i of node.byFrom) {
          if (i.from > to) break;
          visit(i.value);
        }
        node = node.left;
      } else if (from > node.center) {
        for (const i of node.byTo) {
          if (i.to < from) break;
          visit(i.value);
        }
        node = node.right;
      } else {
        for (const i of node.byFrom) visit(i.value);
        if (node.right !== undefined) pending.push(node.right);
        node = node.left;
      }
    }
  }
}
