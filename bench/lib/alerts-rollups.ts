// Fills span_rollups from the spans of DATABASE_URL, as ingest would have (bench/alerts.js writes
// its spans with SQL, past ingest): one statement, the contribution of every span (rollup-sql.ts).
import pino from 'pino';
import { parseConfig } from '../../src/config';
import { createDeps } from '../../src/deps';
import { addContributionSql, spanFacts } from '../../src/modules/analytics/rollup-sql';

async function main() {
  const deps = await createDeps(
    parseConfig({ ...process.env, EVALGRAPH_MIGRATE_ON_START: 'false', LOG_LEVEL: 'silent' }),
    { log: pino({ level: 'silent' }) },
  );
  await deps.db.query(
    `WITH src AS (SELECT ${spanFacts('s')} FROM spans s) ${addContributionSql('src')}`,
  );
  await deps.db.query('ANALYZE span_rollups');
  await deps.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
