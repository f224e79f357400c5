// The statements of the export endpoints: one keyset page of a kind's rows at a time, in
// (time, id) order, so an export of any size holds one page in memory and resumes after the
// last row sent. Columns are those the API reads (traces/read-sql.ts, scores/repo.ts).
import type { Sql } from '../../storage/db';
import { knownCostSql } from '../costs/unpriced';
import { SCORE_COLUMNS } from '../scores/repo';
import { SPAN_COLUMNS, SPAN_KEYS, TRACE_COLUMNS, TRACE_KEYS } from '../traces/read-sql';

export type ExportKind = 'traces' | 'spans' | 'scores' | 'results';

interface KindSql {
  /** `column AS "name"` of every exported column; the name is also its CSV header. */
  columns: [name: string, sql: string][];
  from: string;
  /** The column the rows are ordered and cut by (with the id), and `from`/`to` compare. */
  time: string;
  id: string;
  /** The row's field holding `time`. */
  timeField: string;
  /** Whose rows: `owner = $1`. */
  owner: string;
}

/** Columns that need the `costs` right; without it they are left out of the export. */
export const COST_COLUMNS = new Set([
  'inputCost',
  'outputCost',
  'cachedInputCost',
  'totalCost',
  'costProvided',
  'priceSource',
  'cost',
  'judgeUnpricedCalls',
]);

const named = (list: string[]): [string, string][] =>
  list.map((c) => {
    const m = /^(.*) AS "(\w+)"$/s.exec(c.trim());
    // A bare column (`sc.name`) is named as itself.
    return m ? [m[2], m[1]] : [c.trim().replace(/^\w+\./, ''), c.trim()];
  });
const mapped = (map: Record<string, string>, skip: string[] = []): [string, string][] =>
  Object.entries(map).filter(([name]) => !skip.includes(name));

const KINDS: Record<ExportKind, KindSql> = {
  traces: {
    // `spans` is the span count again under the GraphQL field's name.
    columns: [...named(TRACE_KEYS), ...mapped(TRACE_COLUMNS, ['spans'])],
    from: 'traces t',
    time: 't.start_time',
    id: 't.id',
    timeField: 'startTime',
    owner: 't.project_id',
  },
  spans: {
    columns: [...named(SPAN_KEYS), ...mapped(SPAN_COLUMNS)],
    from: 'spans s',
    time: 's.start_time',
    id: 's.id',
    timeField: 'startTime',
    owner: 's.project_id',
  },
  scores: {
    columns: named(SCORE_COLUMNS.split(/,\s*(?=sc\.)/)),
    from: 'scores sc',
    time: 'sc.scored_at',
    id: 'sc.id',
    timeField: 'timestamp',
    owner: 'sc.project_id',
  },
  results: {
    columns: [
      ['id', 'r.id::text'],
      ['evaluationId', 'r.evaluation_id::text'],
      ['evaluationItemId', 'r.evaluation_item_id::text'],
      ['itemPosition', 'i.position'],
      ['graderName', 'r.grader_name'],
      ['graderType', 'r.grader_type'],
      ['score', 'r.score'],
      ['passed', 'r.passed'],
      ['reasoning', 'r.reasoning'],
      ['inputTokens', 'r.input_tokens'],
      ['outputTokens', 'r.output_tokens'],
      // Null when the grader called a judge and none of its calls could be priced (costs/unpriced.ts).
      ['cost', knownCostSql('r.cost', 'r.calls', 'r.unpriced_calls')],
      ['judgeUnpricedCalls', 'r.unpriced_calls'],
      ['latencyMs', 'r.latency_ms'],
      ['error', 'r.error'],
      ['provider', 'r.provider'],
      ['createdAt', 'r.created_at'],
    ],
    from: 'evaluation_results r JOIN evaluation_items i ON i.id = r.evaluation_item_id',
    time: 'r.created_at',
    id: 'r.id',
    timeField: 'createdAt',
    owner: 'r.evaluation_id',
  },
};

/** The names of a kind's exported columns, in order (cost columns only with `costs`). */
export const exportColumns = (kind: ExportKind, costs: boolean): string[] =>
  KINDS[kind].columns.map(([name]) => name).filter((name) => costs || !COST_COLUMNS.has(name));

export const timeFieldOf = (kind: ExportKind) => KINDS[kind].timeField;

export interface ExportPage {
  kind: ExportKind;
  /** The project (traces, spans, scores) or the evaluation (results). */
  ownerId: string;
  columns: string[];
  from: Date | null;
  to: Date | null;
  /** The last row sent: [time as ISO text, id]. */
  after: [unknown, string] | null;
  limit: number;
}

/** One page of rows after `after`, in (time, id) order. */
export function exportPage(sql: Sql, page: ExportPage) {
  const k = KINDS[page.kind];
  const params: unknown[] = [page.ownerId];
  const p = (value: unknown) => `$${params.push(value)}`;
  const where = [`${k.owner} = $1::uuid`];
  if (page.from) where.push(`${k.time} >= ${p(page.from)}`);
  if (page.to) where.push(`${k.time} < ${p(page.to)}`);
  if (page.after) {
    const at = p(page.after[0]);
    // The plain bound lets the (project, time) index start at the cursor; the row comparison
    // breaks ties of time by id.
    where.push(`${k.time} >= ${at}::timestamptz`);
    where.push(`(${k.time}, ${k.id}) > (${at}::timestamptz, ${p(page.after[1])}::uuid)`);
  }
  const sqlOf = new Map(k.columns);
  const select = page.columns.map((name) => `${sqlOf.get(name)} AS "${name}"`).join(', ');
  return sql<Record<string, unknown>>(
    `SELECT ${select} FROM ${k.from} WHERE ${where.join(' AND ')}
     ORDER BY ${k.time}, ${k.id} LIMIT ${p(page.limit)}`,
    params,
  );
}
