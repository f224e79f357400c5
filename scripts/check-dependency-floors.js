#!/usr/bin/env node
// Fails when package-lock.json pins any copy of a package below a version that fixed a known
// vulnerability. `npm audit` cannot reach an advisory database from this registry, so the
// advisories that matter to this stack are kept here by hand.
//
//   node scripts/check-dependency-floors.js [path/to/package-lock.json]
//   node scripts/check-dependency-floors.js --self-test
'use strict';
const fs = require('node:fs');
const path = require('node:path');

// line: true = the floor holds only for copies of the same major (the fix was backported to
// several lines); otherwise it holds for every copy. Majors with no listed line go unchecked.
const FLOORS = [
  {
    name: 'graphql-yoga',
    floor: '5.21.3',
    why: 'multipart `map` paths could pollute Object.prototype (graphql-yoga#4557)',
  },
  {
    name: 'graphql',
    floor: '16.8.1',
    line: true,
    why: 'CVE-2023-26144: DoS in OverlappingFieldsCanBeMergedRule',
  },
  {
    name: 'ws',
    floor: '8.17.1',
    line: true,
    why: 'CVE-2024-37890: DoS by a request with many headers',
  },
  { name: 'ws', floor: '7.5.10', line: true, why: 'CVE-2024-37890' },
  { name: 'ws', floor: '6.2.3', line: true, why: 'CVE-2024-37890' },
  { name: 'ws', floor: '5.2.4', line: true, why: 'CVE-2024-37890' },
  {
    name: 'esbuild',
    floor: '0.25.0',
    why: 'GHSA-67mh-4wv8-2f99: dev server answered requests from any origin',
  },
  {
    name: 'cookie',
    floor: '0.7.0',
    why: 'CVE-2024-47764: out-of-bounds characters in name, path and domain',
  },
  {
    name: 'path-to-regexp',
    floor: '0.1.12',
    line: true,
    why: 'CVE-2024-45296 and CVE-2024-52798: ReDoS',
  },
  { name: 'path-to-regexp', floor: '1.9.0', line: true, why: 'CVE-2024-45296: ReDoS' },
  { name: 'path-to-regexp', floor: '3.3.0', line: true, why: 'CVE-2024-45296: ReDoS' },
  { name: 'path-to-regexp', floor: '6.3.0', line: true, why: 'CVE-2024-45296: ReDoS' },
  { name: 'body-parser', floor: '1.20.3', why: 'CVE-2024-45590: DoS via urlencoded bodies' },
  { name: 'micromatch', floor: '4.0.8', why: 'CVE-2024-4067: ReDoS' },
  { name: 'braces', floor: '3.0.3', why: 'CVE-2024-4068: memory exhaustion on unbalanced braces' },
  { name: 'brace-expansion', floor: '1.1.12', line: true, why: 'CVE-2025-5889: ReDoS' },
  { name: 'brace-expansion', floor: '2.0.2', line: true, why: 'CVE-2025-5889: ReDoS' },
  { name: 'brace-expansion', floor: '3.0.1', line: true, why: 'CVE-2025-5889: ReDoS' },
  { name: 'brace-expansion', floor: '4.0.1', line: true, why: 'CVE-2025-5889: ReDoS' },
  { name: 'minimatch', floor: '3.0.5', why: 'CVE-2022-3517: ReDoS' },
  {
    name: 'glob',
    floor: '10.5.0',
    line: true,
    why: 'CVE-2025-64756: CLI --cmd ran matched names through a shell',
  },
  { name: 'glob', floor: '11.1.0', line: true, why: 'CVE-2025-64756' },
  { name: 'cross-spawn', floor: '7.0.5', line: true, why: 'CVE-2024-21538: ReDoS' },
  { name: 'cross-spawn', floor: '6.0.6', line: true, why: 'CVE-2024-21538: ReDoS' },
  { name: 'semver', floor: '7.5.2', line: true, why: 'CVE-2022-25883: ReDoS in range parsing' },
  { name: 'semver', floor: '6.3.1', line: true, why: 'CVE-2022-25883' },
  { name: 'semver', floor: '5.7.2', line: true, why: 'CVE-2022-25883' },
  {
    name: 'json5',
    floor: '2.2.2',
    line: true,
    why: 'CVE-2022-46175: prototype pollution in parse',
  },
  { name: 'json5', floor: '1.0.2', line: true, why: 'CVE-2022-46175' },
  {
    name: 'js-yaml',
    floor: '4.1.1',
    line: true,
    why: 'CVE-2025-64718: prototype pollution through merge keys',
  },
  { name: 'js-yaml', floor: '3.14.2', line: true, why: 'CVE-2025-64718' },
  { name: 'lodash', floor: '4.17.21', why: 'CVE-2021-23337: code injection through template' },
  {
    name: '@babel/traverse',
    floor: '7.23.2',
    why: 'CVE-2023-45133: crafted code ran during compilation',
  },
  {
    name: '@babel/helpers',
    floor: '7.26.10',
    line: true,
    why: 'CVE-2025-27789: ReDoS in transpiled named groups',
  },
  { name: '@babel/runtime', floor: '7.26.10', line: true, why: 'CVE-2025-27789' },
];

/** [major, minor, patch, prerelease identifiers] or null for anything that is not semver. */
function parse(version) {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(
    String(version).trim(),
  );
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ? m[4].split('.') : []] : null;
}

/** Semver precedence: negative, zero or positive. A prerelease sorts before its release. */
function compare(a, b) {
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) throw new Error(`not a semver version: ${x ? b : a}`);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  const [p, q] = [x[3], y[3]];
  if (!p.length || !q.length) return q.length - p.length;
  for (let i = 0; i < Math.min(p.length, q.length); i++) {
    if (p[i] === q[i]) continue;
    const [pn, qn] = [/^\d+$/.test(p[i]), /^\d+$/.test(q[i])];
    if (pn && qn) return Number(p[i]) - Number(q[i]);
    if (pn !== qn) return pn ? -1 : 1; // numeric identifiers sort first
    return p[i] < q[i] ? -1 : 1;
  }
  return p.length - q.length;
}

/** Every installed copy in a v2/v3 lockfile, nested ones included; aliases by their real name. */
function installedCopies(lock) {
  if (!lock || typeof lock.packages !== 'object')
    throw new Error('no "packages" map: lockfileVersion 2 or 3 required');
  const copies = [];
  for (const [key, entry] of Object.entries(lock.packages)) {
    const at = key.lastIndexOf('node_modules/');
    if (at === -1 || !entry || !entry.version || entry.link) continue;
    copies.push({
      name: entry.name || key.slice(at + 'node_modules/'.length),
      version: entry.version,
      where: key,
    });
  }
  return copies;
}

/** { violations, checked }: checked counts the distinct packages that had a floor to meet. */
function check(lock, floors = FLOORS) {
  const violations = [];
  const checked = new Set();
  for (const copy of installedCopies(lock)) {
    const parsed = parse(copy.version);
    for (const f of floors) {
      if (f.name !== copy.name) continue;
      if (!parsed) {
        violations.push(
          `${copy.name}@${copy.version} at ${copy.where}: not a semver version, cannot compare with floor ${f.floor}`,
        );
        break;
      }
      if (f.line && parse(f.floor)[0] !== parsed[0]) continue;
      checked.add(copy.name);
      if (compare(copy.version, f.floor) < 0) {
        violations.push(
          `${copy.name}@${copy.version} at ${copy.where} is below ${f.floor}${f.line ? ` (${parsed[0]}.x line)` : ''}: ${f.why}`,
        );
      }
    }
  }
  return { violations, checked: checked.size };
}

function selfTest() {
  const failures = [];
  const expect = (label, actual, wanted) => {
    if (JSON.stringify(actual) !== JSON.stringify(wanted))
      failures.push(`${label}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`);
  };
  const sign = (n) => Math.sign(n);
  expect('patch numbers compare numerically', sign(compare('1.2.10', '1.2.9')), 1);
  expect('equal versions', sign(compare('8.17.1', '8.17.1')), 0);
  expect('0.1.x line', sign(compare('0.1.9', '0.1.12')), -1);
  expect('prerelease before release', sign(compare('5.21.3-alpha.1', '5.21.3')), -1);
  expect('prerelease numeric identifiers', sign(compare('1.0.0-rc.10', '1.0.0-rc.9')), 1);
  expect('numeric identifier before alphanumeric', sign(compare('1.0.0-1', '1.0.0-alpha')), -1);
  expect('build metadata ignored', sign(compare('1.0.0+abc', '1.0.0')), 0);
  const lock = (entries) => ({ lockfileVersion: 3, packages: { '': { name: 'x' }, ...entries } });
  const floors = [
    { name: 'ws', floor: '8.17.1', line: true, why: 'w8' },
    { name: 'ws', floor: '7.5.10', line: true, why: 'w7' },
    { name: 'graphql-yoga', floor: '5.21.3', why: 'y' },
    { name: '@scope/pkg', floor: '2.0.0', why: 's' },
  ];
  const count = (entries) => check(lock(entries), floors).violations.length;
  expect(
    'all at floors',
    count({
      'node_modules/ws': { version: '8.17.1' },
      'node_modules/graphql-yoga': { version: '5.24.1' },
    }),
    0,
  );
  expect(
    'top-level copy below floor',
    count({ 'node_modules/graphql-yoga': { version: '5.21.2' } }),
    1,
  );
  expect(
    'a global floor holds for older majors',
    count({ 'node_modules/graphql-yoga': { version: '4.9.0' } }),
    1,
  );
  expect(
    'nested copy below floor',
    count({
      'node_modules/ws': { version: '8.18.0' },
      'node_modules/a/node_modules/ws': { version: '8.17.0' },
    }),
    1,
  );
  expect(
    'other line held to its own floor',
    count({ 'node_modules/a/node_modules/ws': { version: '7.5.10' } }),
    0,
  );
  expect(
    'other line below its own floor',
    count({ 'node_modules/a/node_modules/ws': { version: '7.5.9' } }),
    1,
  );
  expect(
    'major with no listed line is unchecked',
    count({ 'node_modules/ws': { version: '9.0.0' } }),
    0,
  );
  expect(
    'scoped name',
    count({ 'node_modules/b/node_modules/@scope/pkg': { version: '1.9.9' } }),
    1,
  );
  expect(
    'alias checked by real name',
    count({ 'node_modules/ws-old': { name: 'ws', version: '8.0.0' } }),
    1,
  );
  expect(
    'links and workspaces skipped',
    count({
      'node_modules/ws': { link: true, resolved: 'packages/ws' },
      'packages/ws': { version: '1.0.0' },
    }),
    0,
  );
  expect(
    'unparseable version reported',
    count({ 'node_modules/ws': { version: 'github:websockets/ws' } }),
    1,
  );
  expect(
    'checked counts distinct names',
    check(
      lock({
        'node_modules/ws': { version: '8.18.0' },
        'node_modules/a/node_modules/ws': { version: '7.5.10' },
      }),
      floors,
    ).checked,
    1,
  );
  if (failures.length) {
    console.error(
      `dependency floors self-test: ${failures.length} failed\n${failures.map((f) => `  - ${f}`).join('\n')}`,
    );
    process.exit(1);
  }
  console.log('dependency floors self-test: all cases passed');
}

function main(argv) {
  if (argv.includes('--self-test')) return selfTest();
  const lockPath =
    argv.find((a) => !a.startsWith('-')) || path.join(__dirname, '..', 'package-lock.json');
  let result;
  try {
    result = check(JSON.parse(fs.readFileSync(lockPath, 'utf8')));
  } catch (error) {
    console.error(`dependency floors: cannot check ${lockPath}: ${error.message}`);
    process.exit(1);
  }
  if (result.violations.length) {
    console.error(
      `dependency floors: ${result.violations.length} below their floors (update them, or override them in package.json):`,
    );
    for (const v of result.violations) console.error(`  - ${v}`);
    process.exit(1);
  }
  console.log(
    `dependency floors: ${result.checked} packages checked, all at or above their floors`,
  );
}

if (require.main === module) main(process.argv.slice(2));
module.exports = { FLOORS, parse, compare, check, installedCopies };
