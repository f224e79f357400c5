// JSON sent to Postgres as a json/jsonb parameter. Postgres refuses the escape of a lone surrogate
// (half of a UTF-16 pair: a text cut inside an emoji, as a JSON error's quote of its input is)
// and of U+0000 (text cannot hold it), and with it the whole statement: every row it writes, the
// other projects' of a group commit included. Each becomes U+FFFD, as a lone surrogate in a text
// parameter does (the driver encodes UTF-8). Callers that must refuse U+0000 check it first.

// An escape JSON.stringify writes (lowercase) after an even run of backslashes (escaped ones).
const REFUSED = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/g;

export function jsonParam(value: unknown): string {
  const json = JSON.stringify(value);
  // A paired surrogate is written as is, so any \ud… escape is half of one.
  return json.includes('\\u') ? json.replace(REFUSED, '$1\\ufffd') : json;
}
