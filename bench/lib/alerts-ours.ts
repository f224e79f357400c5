// Runs our alert scheduler once over every due rule of DATABASE_URL and prints the time taken
// (bench/alerts.js starts it; it is our code path exactly: claim 100 due rules, measure each (one
// statement, or the rollups), record state changes, move them on).
import pino from 'pino';
import { parseConfig } from '../../src/config';
import { createDeps } from '../../src/deps';
import { createAlertRules } from '../../src/modules/alerts/service';
import { createEvents } from '../../src/modules/events/emitter';
import { createResponseCacheService } from '../../src/modules/response-cache/service';

async function main() {
  const deps = await createDeps(
    parseConfig({ ...process.env, EVALGRAPH_MIGRATE_ON_START: 'false', LOG_LEVEL: 'silent' }),
    { log: pino({ level: 'silent' }) },
  );
  // Wired as src/services.ts wires them.
  const events = createEvents(deps);
  const cache = createResponseCacheService(deps, deps.responseCache, events);
  const rules = createAlertRules(deps, { events, cache });
  const started = process.hrtime.bigint();
  let evaluated = 0;
  for (let n = await rules.evaluateDue(100); n > 0; n = await rules.evaluateDue(100))
    evaluated += n;
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(JSON.stringify({ evaluated, ms }));
  await deps.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
