/**
 * Keeps a metric label's values bounded: the first `max` distinct values pass, later new ones
 * become `other` (client-chosen strings such as operation or model names must not grow a
 * metric's series without limit). A missing value is "Anonymous".
 */
export function boundedLabel(max: number, known: Iterable<string> = []) {
  const seen = new Set<string>(['Anonymous', ...known]);
  const limit = seen.size + max;
  return (value: string | null | undefined): string => {
    const v = value || 'Anonymous';
    if (seen.has(v)) return v;
    if (seen.size >= limit) return 'other';
    seen.add(v);
    return v;
  };
}
