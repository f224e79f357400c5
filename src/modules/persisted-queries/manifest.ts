// The trusted documents manifest made by GraphQL Code Generator (codegen.ts, client preset with
// persistedDocuments): a JSON object of "sha256:<hex>" → document. Every entry is checked to hash
// to its key, so a hand-edited manifest cannot smuggle a document in under another's hash.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** "sha256:<hex>" or "<hex>" → lower-case hex; null when it is neither. */
export function hashOfDocumentId(id: unknown): string | null {
  if (typeof id !== 'string') return null;
  const hex = (id.startsWith('sha256:') ? id.slice(7) : id).toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}

export function parseManifest(json: string, source = 'manifest'): Map<string, string> {
  let entries: unknown;
  try {
    entries = JSON.parse(json);
  } catch {
    throw new Error(`${source}: not JSON`);
  }
  if (!entries || typeof entries !== 'object' || Array.isArray(entries))
    throw new Error(`${source}: expected an object of hash → document`);
  const documents = new Map<string, string>();
  for (const [key, document] of Object.entries(entries)) {
    const hash = hashOfDocumentId(key);
    if (!hash || typeof document !== 'string')
      throw new Error(`${source}: ${JSON.stringify(key)} is not a sha256 hash of a document`);
    if (sha256Hex(document) !== hash)
      throw new Error(`${source}: the document under ${key} does not hash to it`);
    documents.set(hash, document);
  }
  return documents;
}

/** No path: no manifest (only documents registered in the database are trusted). */
export function loadManifest(path: string | null): Map<string, string> {
  return path ? parseManifest(readFileSync(path, 'utf8'), path) : new Map();
}
