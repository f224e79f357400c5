/** Calls `fn` at once, then at most once per `ms`: calls in between make one more call at the end. */
export function throttle(fn: () => void, ms: number): () => void {
  let last = 0;
  let timer: NodeJS.Timeout | null = null;
  return () => {
    if (timer) return;
    const wait = last + ms - Date.now();
    if (wait <= 0) {
      last = Date.now();
      fn();
      return;
    }
    timer = setTimeout(() => {
      timer = null;
      last = Date.now();
      fn();
    }, wait);
    timer.unref();
  };
}
