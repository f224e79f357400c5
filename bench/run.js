'use strict';
// `npm run bench -- <name>`: installs bench/ deps on first use (they stay out of the
// product install), then runs bench/<name>.js.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const notBenchmarks = new Set(['run.js']);

function benchmarks() {
  return fs
    .readdirSync(here)
    .filter((f) => f.endsWith('.js') && !notBenchmarks.has(f))
    .map((f) => f.slice(0, -3))
    .sort();
}

/** Exact name first, then a unique prefix, so `npm run bench -- view` works. */
function resolve(name) {
  const all = benchmarks();
  const base = path.basename(name).replace(/\.js$/, '');
  if (all.includes(base)) return base;
  const matches = all.filter((b) => b.startsWith(base));
  if (matches.length === 1) return matches[0];
  const why = matches.length ? `"${name}" matches ${matches.join(', ')}` : `no benchmark "${name}"`;
  throw new Error(`${why}; available: ${all.join(', ')}`);
}

function installIfMissing() {
  if (fs.existsSync(path.join(here, 'node_modules', 'autocannon'))) return;
  process.stderr.write('bench: installing bench/ dependencies (first use)…\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit' });
  if (r.status !== 0)
    throw new Error(
      `npm install in bench/ failed (${r.error ? r.error.message : `exit ${r.status}`})`,
    );
}

async function main() {
  const name = process.argv[2];
  if (!name || name === '--help' || name === '-h') {
    process.stderr.write(
      `usage: npm run bench -- <name>\nbenchmarks: ${benchmarks().join(', ')}\n`,
    );
    return name ? 0 : 2;
  }
  const file = resolve(name);
  installIfMissing();
  const code = await require(path.join(here, `${file}.js`))();
  return typeof code === 'number' ? code : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench: ${e?.message ? e.message : e}\n`);
    process.exit(1);
  },
);
