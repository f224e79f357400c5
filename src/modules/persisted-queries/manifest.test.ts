import { hashOfDocumentId, parseManifest, sha256Hex } from './manifest';

const doc = 'query A { viewer { id } }';

test('document ids: sha256-prefixed or bare hex, any case; anything else is no id', () => {
  const hex = sha256Hex(doc);
  expect(hashOfDocumentId(`sha256:${hex}`)).toBe(hex);
  expect(hashOfDocumentId(hex.toUpperCase())).toBe(hex);
  expect(hashOfDocumentId('sha1:abc')).toBeNull();
  expect(hashOfDocumentId(42)).toBeNull();
});

test('a manifest maps hashes to documents, and an entry under a wrong hash is refused', () => {
  const hex = sha256Hex(doc);
  expect(parseManifest(JSON.stringify({ [`sha256:${hex}`]: doc })).get(hex)).toBe(doc);
  expect(() =>
    parseManifest(JSON.stringify({ [`sha256:${hex}`]: 'query B { viewer { email } }' })),
  ).toThrow('does not hash');
  expect(() => parseManifest('[1]')).toThrow('expected an object');
  expect(() => parseManifest('{')).toThrow('not JSON');
});
