// What `score.created` carries (events/catalogue.ts): the score in the API's terms (global ids,
// ISO times), the same for webhook receivers and for `scoreCreated` subscribers, who get it
// back as a row (scoreOf) without reading the database once per score.
import { decodeGlobalID } from '@pothos/plugin-relay';
import type { ScoreDataType, ScoreSource } from '../../generated/prisma/enums';
import type { EventMessage } from '../events/catalogue';
import type { ScoreRow } from './repo';

// btoa is exact for these ASCII ids and several times faster than Buffer (many scores at a time).
const gid = (type: string, id: string | null) => (id === null ? null : btoa(`${type}:${id}`));
const raw = (id: string | null) => (id === null ? null : decodeGlobalID(id).id);

export function scoreData(s: ScoreRow) {
  return {
    id: gid('Score', s.id) as string,
    projectId: gid('Project', s.projectId) as string,
    clientId: s.clientId,
    traceId: gid('Trace', s.traceId),
    spanId: gid('Span', s.spanId),
    sessionId: s.sessionId,
    /** As EvaluationItem.id shows it. */
    evaluationItemId: s.evaluationItemId,
    name: s.name,
    dataType: s.dataType as ScoreDataType,
    value: s.value,
    stringValue: s.stringValue,
    comment: s.comment,
    source: s.source as ScoreSource,
    userId: s.userId,
    authorUserId: gid('User', s.authorUserId),
    authorApiKeyId: gid('ApiKey', s.authorApiKeyId),
    evaluationId: gid('Evaluation', s.evaluationId),
    evaluationRuleId: gid('EvaluationRule', s.evaluationRuleId),
    graderName: s.graderName,
    timestamp: s.timestamp.toISOString(),
    createdAt: s.createdAt.toISOString(),
  };
}

/** The score a `score.created` message announces. */
export function scoreOf(message: EventMessage<'score.created'>): ScoreRow {
  const d = message.data;
  return {
    ...d,
    id: message.subjectId,
    projectId: message.projectId,
    traceId: raw(d.traceId),
    spanId: raw(d.spanId),
    authorUserId: raw(d.authorUserId),
    authorApiKeyId: raw(d.authorApiKeyId),
    evaluationId: raw(d.evaluationId),
    evaluationRuleId: raw(d.evaluationRuleId),
    timestamp: new Date(d.timestamp),
    createdAt: new Date(d.createdAt),
    updatedAt: new Date(d.createdAt),
  };
}
