// PGlite runs no autovacuum (it has no background processes), so without this its tables would
// never get planner statistics: the planner then guesses row counts, and on our joins picks plans
// many times slower than with them. The database thread runs ANALYZE as autovacuum would: once
// the rows changed since the last one pass a threshold (Postgres' default: 50 + 10% of the rows,
// per table; here over all tables, as the replies tell only how many rows a statement changed),
// at most once a minute (autovacuum's naptime).
// Not VACUUM: it blocks every connection for as long as it takes (autovacuum's runs beside them).

const MIN_INTERVAL_MS = 60_000;

/** Rows inserted, updated or deleted by the statements whose replies (wire protocol) are `reply`. */
export function rowsChanged(reply: Uint8Array): number {
  let changed = 0;
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  for (let at = 0; at + 5 <= reply.length; at += 1 + view.getInt32(at + 1)) {
    // CommandComplete: its tag, e.g. "INSERT 0 5", "UPDATE 3", "DELETE 1", "MERGE 2".
    if (reply[at] !== 0x43) continue;
    const tag = Buffer.from(reply.buffer, reply.byteOffset + at + 5, view.getInt32(at + 1) - 5)
      .toString('latin1')
      .replace(/\0$/, '');
    const match = /^(?:INSERT \d+|UPDATE|DELETE|MERGE|COPY) (\d+)$/.exec(tag);
    if (match) changed += Number(match[1]);
  }
  return changed;
}

export function createAnalyzeSchedule(now: () => number = Date.now) {
  let changed = 0;
  let rows = 0;
  let last = now();
  return {
    changed(n: number) {
      changed += n;
    },
    due: () => changed >= 50 + 0.1 * rows && now() - last >= MIN_INTERVAL_MS,
    /** `totalRows`: the rows of all tables as ANALYZE counted them. */
    analyzed(totalRows: number) {
      changed = 0;
      rows = totalRows;
      last = now();
    },
  };
}
