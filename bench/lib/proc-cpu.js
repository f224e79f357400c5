'use strict';
// CPU time used by a process group (a server started by servers.js is its own group), read from
// /proc. On a small shared machine req/s moves with whatever else runs; CPU per request does not.
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

let ticksPerSecond;
function clockTicks() {
  if (ticksPerSecond === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    ticksPerSecond = r.status === 0 && n > 0 ? n : 100;
  }
  return ticksPerSecond;
}

/** User + system CPU milliseconds of every live process in group `pgid`; null where /proc is missing. */
const groupCpuMs = (pgid) => cpuMsWhere((fields) => Number(fields[2]) === pgid);

/** The same for every live process named `comm` (`postgres`: the database server's processes). */
const commandCpuMs = (comm) => cpuMsWhere((_fields, name) => name === comm);

function cpuMsWhere(match) {
  if (process.platform !== 'linux') return null;
  let ticks = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after "(comm)": state ppid pgrp … utime (14th field overall) stime (15th).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (!match(fields, stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')))) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / clockTicks();
}

/**
 * The harness's interleaved runs and, per target, its server's CPU over its own measured runs
 * (the harness reads it around each): { name, ms, requests, perRequest } (ms null without /proc).
 */
async function interleaveWithCpu(harness, targets, opts) {
  const summaries = await harness.interleave(targets, opts);
  const cpu = summaries.map((s, i) => {
    const runs = s.runs.filter((r) => r.cpuMs != null);
    const ms = runs.length ? runs.reduce((n, r) => n + r.cpuMs, 0) : null;
    const requests = runs.reduce((n, r) => n + (r.total || 0), 0);
    return {
      name: targets[i].name,
      ms,
      requests,
      perRequest: ms == null || !requests ? null : ms / requests,
    };
  });
  return { summaries, cpu };
}

/** The CPU rows as a table, each baseline with ours / it (CPU: lower is better). */
function cpuReport(harness, cpu, note) {
  const ours = cpu.find((c) => c.name === 'ours').perRequest;
  const x = (n) => (n == null ? 'n/a' : `${n.toFixed(2)}x`);
  return [
    `server CPU per request (ms, user + system of the server processes${note ? `; ${note}` : ''})`,
    harness.table([
      ['target', 'cpu ms/req', 'ours / it'],
      ...cpu.map((c) => [
        c.name,
        c.perRequest == null ? 'n/a' : c.perRequest.toFixed(3),
        c.name === 'ours' ? '' : x(harness.ratio(ours, c.perRequest)),
      ]),
    ]),
    '',
  ].join('\n');
}

module.exports = { groupCpuMs, commandCpuMs, interleaveWithCpu, cpuReport };
