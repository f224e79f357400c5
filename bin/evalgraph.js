#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so the same sources serve development and production.
require('tsx/cjs');
require('../src/cli.ts').main(process.argv);
