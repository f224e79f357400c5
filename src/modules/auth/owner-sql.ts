// Which project a row belongs to, for the rows a mutation or field names by id. One statement per
// kind, so checking an id before acting on it is one small read wherever it happens.
import { isUuid } from '../../lib/ids';
import type { Sql } from '../../storage/db';

const OWNER = {
  Dataset: 'SELECT project_id FROM datasets WHERE id = $1::uuid',
  DatasetItem:
    'SELECT d.project_id FROM dataset_items i JOIN datasets d ON d.id = i.dataset_id WHERE i.id = $1::uuid',
  Evaluation: 'SELECT project_id FROM evaluations WHERE id = $1::uuid',
  EvaluationItem:
    'SELECT e.project_id FROM evaluation_items i JOIN evaluations e ON e.id = i.evaluation_id WHERE i.id = $1::uuid',
  Trace: 'SELECT project_id FROM traces WHERE id = $1::uuid',
  Span: 'SELECT project_id FROM spans WHERE id = $1::uuid',
  WebhookEndpoint: 'SELECT project_id FROM webhook_endpoints WHERE id = $1::uuid',
  // Its ids are the `webhook-id` header values (msg_…), not uuids.
  WebhookMessage: 'SELECT project_id FROM webhook_messages WHERE id = $1',
  AlertRule: 'SELECT project_id FROM alert_rules WHERE id = $1::uuid',
  AlertChannel: 'SELECT project_id FROM alert_channels WHERE id = $1::uuid',
  EvaluationRule: 'SELECT project_id FROM evaluation_rules WHERE id = $1::uuid',
} as const;

export type Owned = keyof typeof OWNER;

/** Kinds whose ids are not uuids. */
const TEXT_IDS = new Set<Owned>(['WebhookMessage']);

/** The row's project, or null when there is no such row (an id that is not a uuid included). */
export async function ownerOf(sql: Sql, type: Owned, id: string): Promise<string | null> {
  if (!TEXT_IDS.has(type) && !isUuid(id)) return null;
  const [row] = await sql<{ project_id: string }>(OWNER[type], [id]);
  return row?.project_id ?? null;
}
