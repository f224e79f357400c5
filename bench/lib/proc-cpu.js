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
function groupCpuMs(pgid) {
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
    if (Number(fields[2]) !== pgid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / clockTicks();
}

module.exports = { groupCpuMs };
