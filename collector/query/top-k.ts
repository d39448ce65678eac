/**
 * Indices of the `k` largest of `values`, largest first (ties: lower index first). A min-heap of k: O(n log k),
 * no sort of all n, no allocation per value — what ranking 50,000 pods for a top 20 needs.
 */
export function topIndices(values: Float64Array, k: number): number[] {
  const n = values.length;
  if (k <= 0 || n === 0) return [];
  const heap = new Int32Array(Math.min(k, n));
  let size = 0;
  // a ranks below b: smaller value, or equal value and later index.
  const below = (a: number, b: number) => {
    const va = values[a] as number;
    const vb = values[b] as number;
    return va < vb || (va === vb && a > b);
  };
  const siftDown = (from: number) => {
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && below(heap[l] as number, heap[m] as number)) m = l;
      if (r < size && below(heap[r] as number, heap[m] as number)) m = r;
      if (m === i) return;
      const t = heap[i] as number;
      heap[i] = heap[m] as number;
      heap[m] = t;
      i = m;
    }
  };
  for (let idx = 0; idx < n; idx++) {
    if (size < heap.length) {
      // Sift up.
      let i = size++;
      heap[i] = idx;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!below(heap[i] as number, heap[p] as number)) break;
        const t = heap[i] as number;
        heap[i] = heap[p] as number;
        heap[p] = t;
        i = p;
      }
    } else if (below(heap[0] as number, idx)) {
      heap[0] = idx;
      siftDown(0);
    }
  }
  return [...heap.subarray(0, size)].sort((a, b) => (below(a, b) ? 1 : below(b, a) ? -1 : 0));
}
