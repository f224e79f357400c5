// Runs our alert scheduler once over every due rule of DATABASE_URL and prints the time taken
// (bench/alerts.js starts it; it is our code path exactly: claim 100 due rules, measure each with
// its one statement, record state changes, move them on).
import pino from 'pino';
import { parseConfig } from '../../src/config';
import { createDeps } from '../../src/deps';
import { createAlertEvents } from '../../src/modules/alerts/events';
import { createAlertRules } from '../../src/modules/alerts/service';

async function main() {
  const deps = await createDeps(
    parseConfig({ ...process.env, EVALGRAPH_MIGRATE_ON_START: 'false', LOG_LEVEL: 'silent' }),
    { log: pino({ level: 'silent' }) },
  );
  const rules = createAlertRules(deps, { alerts: createAlertEvents(deps) });
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
