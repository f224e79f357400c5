'use strict';
// Measure targets with autocannon, interleaved, and report medians as ratios:
// the machine is noisy (CPU steal, 2 cores), so only figures taken side by side compare.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');
const { groupCpuMs } = require('./proc-cpu');
const { envNumber } = require('./settings');

function settings() {
  return {
    duration: envNumber('BENCH_DURATION', 5), // seconds per measured run
    connections: envNumber('BENCH_CONNECTIONS', 10),
    runs: envNumber('BENCH_RUNS', 3), // valid runs wanted per target
    warmup: envNumber('BENCH_WARMUP', 2), // seconds per target before round 1, not counted
    extraRounds: envNumber('BENCH_EXTRA_ROUNDS', 2), // rounds allowed to replace discarded runs
  };
}

const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

const ratio = (a, b) => (a == null || b == null || b === 0 ? null : a / b);

/**
 * One request as autocannon will send it; its body must be GraphQL JSON with `data` and no `errors`.
 * Returns the body text when it is deterministic enough to check every response against it.
 */
async function probe(request, expect) {
  const once = async () => {
    const res = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(5_000),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299)
      throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`not JSON: ${text.slice(0, 300)}`);
    }
    if ('errors' in json)
      throw new Error(`errors in body: ${JSON.stringify(json.errors).slice(0, 300)}`);
    if (!json.data) throw new Error(`no data in body: ${text.slice(0, 300)}`);
    const wrong = expect?.(json);
    if (wrong) throw new Error(`unexpected body (${wrong}): ${text.slice(0, 300)}`);
    return text;
  };
  const a = await once();
  const b = await once();
  return core(a) === core(b) ? a : null;
}

/**
 * What must be equal in every answer: its data and errors. Extensions may differ by design (the
 * rate limit's `cost.throttleStatus.currentlyAvailable` is the bucket's level at that moment).
 */
function core(text) {
  try {
    const json = JSON.parse(text);
    return JSON.stringify({ data: json.data, errors: json.errors });
  } catch {
    return null;
  }
}

/** autocannon's own percentiles are whole milliseconds, too coarse for sub-ms servers: keep raw times. */
async function measure(request, { duration, connections, expectBody }) {
  const expected = expectBody ? core(expectBody) : null;
  const times = [];
  const tracker = autocannon({
    url: request.url,
    method: request.method,
    headers: request.headers,
    body: request.body,
    duration,
    connections,
    // Every answer's data and errors equal the probe's (a mismatch discards the run).
    ...(expected ? { verifyBody: (body) => core(body) === expected } : {}),
    // A body per request (e.g. a nonce, so that no two are the same to a cache).
    ...(request.setupRequest ? { requests: [{ setupRequest: request.setupRequest }] } : {}),
  });
  tracker.on('response', (client, status, bytes, ms) => {
    if (status >= 200 && status < 300) times.push(ms);
  });
  const r = await tracker;
  return {
    rps: r.requests.average,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    total: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    mismatches: r.mismatches,
  };
}

function percentile(xs, p) {
  if (!xs.length) return null;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/**
 * Run each target in turn, round after round (A/B/C/A/B/C…), until each has `runs` valid runs.
 * A run counts only with no non-2xx, no errors, no body mismatches and a clean probe before it.
 * targets: [{ name, request: { url, method, headers, body, setupRequest? }, expect?(json) => string|undefined, server?, varyingBody?, keepTimeouts? }]
 * (`varyingBody`: answers differ by design, e.g. a rate-limit extension; each is still probed, not compared.
 * `keepTimeouts`: a run with timeouts still counts, for benchmarks that report them.)
 */
async function interleave(targets, opts, log = (line) => process.stderr.write(`${line}\n`)) {
  const results = new Map(targets.map((t) => [t.name, []]));
  const alive = (t) => {
    if (t.server?.exited) throw new Error(`${t.name} exited during the benchmark`);
  };

  if (opts.warmup > 0) {
    for (const t of targets) {
      alive(t);
      await probe(t.request, t.expect).catch((e) => {
        throw new Error(`${t.name}: ${e.message}`);
      });
      await measure(t.request, { ...opts, duration: opts.warmup });
      log(`warm-up  ${t.name.padEnd(8)} ${opts.warmup} s`);
    }
  }

  const maxRounds = opts.runs + opts.extraRounds;
  for (let round = 1; round <= maxRounds; round++) {
    const due = targets.filter(
      (t) => results.get(t.name).filter((r) => r.valid).length < opts.runs,
    );
    if (!due.length) break;
    for (const t of due) {
      alive(t);
      const run = { round, valid: false };
      try {
        const probed = await probe(t.request, t.expect);
        const expectBody = t.varyingBody ? null : probed;
        // The server's CPU over its own run only: what it spends idle meanwhile (workers' polls) is not the requests'.
        const cpuBefore = t.server ? groupCpuMs(t.server.child.pid) : null;
        Object.assign(run, await measure(t.request, { ...opts, expectBody }));
        const cpuAfter = cpuBefore == null ? null : groupCpuMs(t.server.child.pid);
        run.cpuMs = cpuAfter == null ? null : cpuAfter - cpuBefore;
        run.bodiesChecked = expectBody ? 'all' : 'sampled';
        // autocannon counts a timeout as an error too; a target that measures them keeps the run.
        const errors = t.keepTimeouts ? run.errors - run.timeouts : run.errors;
        const bad = ['non2xx', 'errors', 'mismatches'].filter(
          (k) => (k === 'errors' ? errors : run[k]) > 0,
        );
        if (run.total === 0) bad.push('no responses');
        run.valid = bad.length === 0;
        if (!run.valid) run.reason = bad.map((k) => (run[k] > 0 ? `${k}=${run[k]}` : k)).join(' ');
      } catch (e) {
        run.reason = `probe failed: ${e.message}`;
      }
      alive(t);
      results.get(t.name).push(run);
      log(
        `round ${round}  ${t.name.padEnd(8)} ` +
          (run.rps == null
            ? ''
            : `${fmt(run.rps, 0).padStart(7)} req/s  p50 ${fmt(run.p50, 2)} ms  p99 ${fmt(run.p99, 2)} ms  `) +
          (run.valid ? 'ok' : `DISCARDED (${run.reason})`),
      );
    }
  }
  return targets.map((t) => summarize(t.name, results.get(t.name)));
}

function summarize(name, runs) {
  const valid = runs.filter((r) => r.valid);
  const med = (k) => median(valid.map((r) => r[k]));
  return { name, runs, valid: valid.length, rps: med('rps'), p50: med('p50'), p99: med('p99') };
}

/**
 * Ratio of each target to each later one (ours÷yoga, ours÷apollo, yoga÷apollo).
 * `spread` pairs runs of the same round, which shows how much the noise moves a ratio.
 */
function ratios(summaries) {
  const out = [];
  summaries.forEach((a, i) =>
    summaries.slice(i + 1).forEach((b) => {
      const paired = a.runs
        .filter((r) => r.valid)
        .map((r) => [r, b.runs.find((s) => s.valid && s.round === r.round)])
        .filter(([, s]) => s)
        .map(([r, s]) => r.rps / s.rps);
      out.push({
        target: a.name,
        baseline: b.name,
        rps: ratio(a.rps, b.rps),
        p50: ratio(a.p50, b.p50),
        p99: ratio(a.p99, b.p99),
        rpsPerRound: paired,
      });
    }),
  );
  return out;
}

function fmt(n, digits) {
  return n == null ? 'n/a' : n.toFixed(digits);
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) =>
          c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]),
        )
        .join('  '),
    )
    .join('\n');
}

function report({ title, opts, summaries, ratioRows }) {
  const x = (n) => (n == null ? 'n/a' : `${n.toFixed(2)}x`);
  const lines = [
    '',
    `${title}`,
    `${opts.runs} runs x ${opts.duration} s, ${opts.connections} connections, interleaved; medians of valid runs`,
    '',
    table([
      ['target', 'runs', 'req/s', 'p50 ms', 'p99 ms'],
      ...summaries.map((s) => [
        s.name,
        `${s.valid}/${s.runs.length}`,
        fmt(s.rps, 0),
        fmt(s.p50, 2),
        fmt(s.p99, 2),
      ]),
    ]),
    '',
    'ratios (req/s: higher is better; latency: lower is better)',
    table([
      ['target / baseline', 'req/s', 'p50', 'p99', 'req/s per round'],
      ...ratioRows.map((r) => [
        `${r.target} / ${r.baseline}`,
        x(r.rps),
        x(r.p50),
        x(r.p99),
        r.rpsPerRound.length ? r.rpsPerRound.map((v) => v.toFixed(2)).join(' ') : 'n/a',
      ]),
    ]),
    '',
  ];
  return lines.join('\n');
}

/** bench/results/<name>-<timestamp>.json; returns its path. */
function writeResults(name, data) {
  const dir = path.join(__dirname, '..', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `${name}-${stamp}.json`);
  const machine = {
    node: process.version,
    platform: process.platform,
    cpus: os.cpus().length,
    loadavg: os.loadavg(),
  };
  fs.writeFileSync(
    file,
    `${JSON.stringify({ name, finishedAt: new Date().toISOString(), machine, ...data }, null, 2)}\n`,
  );
  return file;
}

module.exports = {
  settings,
  median,
  ratio,
  probe,
  measure,
  interleave,
  summarize,
  ratios,
  report,
  table,
  writeResults,
};
