#!/usr/bin/env node
// `prisma generate` offline: the CLI wants a native schema engine path before it generates,
// though generate never runs it. Any executable will do; node itself is always there.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const cli = path.join(__dirname, '..', 'node_modules', 'prisma', 'build', 'index.js');
const result = spawnSync(process.execPath, [cli, 'generate'], {
  stdio: process.env.CI ? 'inherit' : ['ignore', 'ignore', 'inherit'],
  env: {
    ...process.env,
    // generators such as prisma-pothos-types are found as bins
    PATH: `${path.join(__dirname, '..', 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`,
    PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  },
});
process.exit(result.status ?? 1);
