// What a score and a score config must be, before they are stored. Pure: the configs of the
// batch's names and the time come in as arguments; whether a target exists is the service's
// question (it needs the database).
import type { ScoreDataType, ScoreSource } from '../../generated/prisma/enums';

/** One score as a client sends it; target ids are raw uuids (decoded from the API's ids). */
export interface ScoreInput {
  /** The client's id: sending it again (in the same project) updates the score. */
  clientId?: string | null;
  traceId?: string | null;
  spanId?: string | null;
  sessionId?: string | null;
  evaluationItemId?: string | null;
  /** The trace by the id the client gave it (Trace.externalId), with a span of it (Span.externalId). */
  traceExternalId?: string | null;
  spanExternalId?: string | null;
  name: string;
  dataType?: ScoreDataType | null;
  value?: number | null;
  stringValue?: string | null;
  comment?: string | null;
  source?: ScoreSource | null;
  /** The end user who gave it (feedback). */
  userId?: string | null;
  timestamp?: Date | null;
}

export interface ScoreCategory {
  label: string;
  value: number | null;
}

export interface ScoreConfigRow {
  id: string;
  projectId: string;
  name: string;
  dataType: ScoreDataType;
  minValue: number | null;
  maxValue: number | null;
  categories: ScoreCategory[] | null;
  description: string | null;
  archived: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type TargetKind = 'trace' | 'span' | 'session' | 'evaluationItem' | 'externalTrace';

/** A score that passed every check but its target's existence. */
export interface CheckedScore {
  clientId: string | null;
  /** externalTrace: `id` is the trace's external id, `span` a span's in it (a span score). */
  target: { kind: TargetKind; id: string; span?: string | null };
  name: string;
  dataType: ScoreDataType;
  value: number | null;
  stringValue: string | null;
  comment: string | null;
  source: ScoreSource;
  userId: string | null;
  timestamp: Date;
}

export interface ScoreProblem {
  index: number;
  /** The input field at fault. */
  field: string;
  message: string;
  code: 'BAD_USER_INPUT' | 'NOT_FOUND';
}

export const MAX_NAME = 200;
export const MAX_ID = 256;
export const MAX_STRING_VALUE = 500;
export const MAX_COMMENT = 10_000;
export const MAX_DESCRIPTION = 1_000;
export const MAX_CATEGORIES = 100;
/** Sources clients may give; EVALUATION and ONLINE_EVALUATION are written by Evalgraph only. */
export const CLIENT_SOURCES: readonly ScoreSource[] = ['API', 'FEEDBACK', 'ANNOTATION'];
/** Client ids of Evalgraph's own scores begin with it; clients may not use it (nor take theirs). */
export const OWN_CLIENT_ID = 'evalgraph:';
/** BOOLEAN scores store these as stringValue (value 1 and 0); any case is accepted. */
export const TRUE = 'True';
export const FALSE = 'False';

const MIN_TIME = Date.UTC(1990, 0, 1);
const MAX_FUTURE_MS = 24 * 3600_000;
// Postgres text cannot hold U+0000.
const NUL = '\u0000';
// Half of a UTF-16 pair: stored as U+FFFD (storage/json-param.ts), so a client id holding one
// would not be the id the write finds again.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const TARGETS = ['traceId', 'spanId', 'sessionId', 'evaluationItemId', 'traceExternalId'] as const;
const TEXTS: [keyof ScoreInput, number, boolean][] = [
  ['name', MAX_NAME, true],
  ['clientId', MAX_ID, false],
  ['sessionId', MAX_ID, false],
  ['userId', MAX_ID, false],
  ['comment', MAX_COMMENT, false],
  ['stringValue', MAX_STRING_VALUE, false],
  ['traceExternalId', MAX_ID, false],
  ['spanExternalId', MAX_ID, false],
];
const KIND_OF: Record<(typeof TARGETS)[number], TargetKind> = {
  traceId: 'trace',
  spanId: 'span',
  sessionId: 'session',
  evaluationItemId: 'evaluationItem',
  traceExternalId: 'externalTrace',
};

/** The problem with a text, or null: required texts must not be blank. */
function textProblem(value: unknown, max: number, required: boolean): string | null {
  if (value === null || value === undefined) return required ? 'is required' : null;
  if (typeof value !== 'string') return 'must be a string';
  if (required && value.trim() === '') return 'must not be empty';
  if (value.length > max) return `is longer than ${max} characters`;
  if (value.includes(NUL)) return 'must not contain the character U+0000';
  return null;
}

const given = (v: unknown) => v !== null && v !== undefined;

/**
 * Checks one score against its name's config (if any). Returns the problems, or the score with
 * its data type settled and its values normalised (BOOLEAN: value 0/1 and stringValue
 * "True"/"False"; CATEGORICAL with a config: value from the category's mapping).
 */
export function checkScore(
  input: ScoreInput,
  index: number,
  config: ScoreConfigRow | undefined,
  now: Date,
  options: { internal?: boolean } = {},
): { problems: ScoreProblem[]; score: CheckedScore | null } {
  // Written without helpers made per call: a batch checks a thousand scores.
  const problems: ScoreProblem[] = [];
  const bad = (field: string, message: string) =>
    problems.push({ index, field, message, code: 'BAD_USER_INPUT' });
  for (const [field, max, required] of TEXTS) {
    const problem = textProblem(input[field], max, required);
    if (problem !== null) bad(field, problem);
  }
  if (input.clientId != null && input.clientId.trim() === '') bad('clientId', 'must not be empty');
  if (!options.internal && input.clientId?.startsWith(OWN_CLIENT_ID))
    bad('clientId', `must not begin with "${OWN_CLIENT_ID}" (Evalgraph's own scores use it)`);
  if (input.clientId != null && LONE_SURROGATE.test(input.clientId))
    bad('clientId', 'must not hold half of a character (a lone UTF-16 surrogate)');
  if (input.sessionId != null && input.sessionId.trim() === '')
    bad('sessionId', 'must not be empty');

  let field: (typeof TARGETS)[number] | null = null;
  let second: (typeof TARGETS)[number] | null = null;
  for (const target of TARGETS) {
    if (!given(input[target])) continue;
    if (field === null) field = target;
    else second ??= target;
  }
  if (field === null || second !== null)
    bad(
      second ?? 'traceId',
      'give exactly one of traceId, spanId, sessionId, evaluationItemId and traceExternalId (what the score is about)',
    );
  if (given(input.spanExternalId) && field !== 'traceExternalId')
    bad('spanExternalId', 'is the id of a span in the trace of traceExternalId: give that too');

  const source = input.source ?? 'API';
  if (!options.internal && !CLIENT_SOURCES.includes(source))
    bad('source', `must be one of ${CLIENT_SOURCES.join(', ')} (the others are Evalgraph's own)`);

  if (input.timestamp != null) {
    const at = input.timestamp instanceof Date ? input.timestamp.getTime() : Number.NaN;
    if (Number.isNaN(at)) bad('timestamp', 'must be a date');
    else if (at < MIN_TIME || at > now.getTime() + MAX_FUTURE_MS)
      bad('timestamp', 'is out of range (1990 to a day from now)');
  }
  if (input.value != null && !Number.isFinite(input.value)) bad('value', 'must be a finite number');

  if (config?.archived)
    bad('name', `the score config "${config.name}" is archived: it takes no new scores`);
  const value = input.value ?? null;
  const stringValue = input.stringValue ?? null;
  let dataType = input.dataType ?? config?.dataType ?? null;
  if (config && input.dataType && input.dataType !== config.dataType)
    bad('dataType', `must be ${config.dataType}, as the score config "${config.name}" says`);
  if (!dataType) {
    if (value !== null && stringValue === null) dataType = 'NUMERIC';
    else if (stringValue !== null && value === null) dataType = 'CATEGORICAL';
    else if (value === null) bad('value', 'is required (or stringValue, for a category)');
    else bad('dataType', 'is required when both value and stringValue are given');
  }

  const settled = dataType ? settleValues(dataType, value, stringValue, config, bad) : null;
  if (problems.length || !settled || !dataType || field === null) return { problems, score: null };
  return {
    problems,
    score: {
      clientId: input.clientId ?? null,
      target:
        field === 'traceExternalId'
          ? {
              kind: 'externalTrace',
              id: input[field] as string,
              span: input.spanExternalId ?? null,
            }
          : { kind: KIND_OF[field], id: input[field] as string },
      name: input.name,
      dataType,
      value: settled.value,
      stringValue: settled.stringValue,
      comment: input.comment ?? null,
      source,
      userId: input.userId ?? null,
      timestamp: input.timestamp ?? now,
    },
  };
}

/** value and stringValue as stored for the data type, or null after reporting what is wrong. */
function settleValues(
  dataType: ScoreDataType,
  value: number | null,
  stringValue: string | null,
  config: ScoreConfigRow | undefined,
  bad: (field: string, message: string) => void,
): { value: number | null; stringValue: string | null } | null {
  const fail = (field: string, message: string): null => {
    bad(field, message);
    return null;
  };
  if (dataType === 'NUMERIC') {
    if (value === null) return fail('value', 'is required for a NUMERIC score');
    if (stringValue !== null)
      return fail('stringValue', 'is only for CATEGORICAL and BOOLEAN scores');
    if (config?.minValue != null && value < config.minValue)
      return fail('value', `must be at least ${config.minValue} (score config "${config.name}")`);
    if (config?.maxValue != null && value > config.maxValue)
      return fail('value', `must be at most ${config.maxValue} (score config "${config.name}")`);
    return { value, stringValue: null };
  }
  if (dataType === 'BOOLEAN') {
    const fromText =
      stringValue === null
        ? null
        : stringValue.toLowerCase() === 'true'
          ? 1
          : stringValue.toLowerCase() === 'false'
            ? 0
            : undefined;
    if (fromText === undefined) return fail('stringValue', `must be "${TRUE}" or "${FALSE}"`);
    if (value !== null && value !== 0 && value !== 1)
      return fail('value', 'must be 1 (true) or 0 (false) for a BOOLEAN score');
    if (value === null && fromText === null)
      return fail(
        'value',
        'is required for a BOOLEAN score: 1 or 0 (or stringValue "True"/"False")',
      );
    if (value !== null && fromText !== null && value !== fromText)
      return fail('stringValue', `does not match value ${value}`);
    const truth = value ?? fromText;
    return { value: truth, stringValue: truth === 1 ? TRUE : FALSE };
  }
  // CATEGORICAL
  if (stringValue === null)
    return fail('stringValue', 'is required for a CATEGORICAL score (the category)');
  if (stringValue.trim() === '') return fail('stringValue', 'must not be empty');
  if (!config?.categories) return { value, stringValue };
  const category = config.categories.find((c) => c.label === stringValue);
  if (!category) {
    const labels = config.categories.map((c) => `"${c.label}"`).join(', ');
    return fail('stringValue', `must be one of ${labels} (score config "${config.name}")`);
  }
  if (value !== null && value !== category.value)
    return fail(
      'value',
      category.value === null
        ? `must be left out: the category "${category.label}" has no value`
        : `must be ${category.value} for the category "${category.label}" (or left out)`,
    );
  return { value: category.value, stringValue };
}

export interface ScoreConfigInput {
  name: string;
  dataType: ScoreDataType;
  minValue?: number | null;
  maxValue?: number | null;
  categories?: { label: string; value?: number | null }[] | null;
  description?: string | null;
}

/** Problems of a config, as [field, message] (empty when it is valid). */
export function checkConfig(config: ScoreConfigInput): [string, string][] {
  const problems: [string, string][] = [];
  const bad = (field: string, message: string) => problems.push([field, message]);
  const name = textProblem(config.name, MAX_NAME, true);
  if (name) bad('name', name);
  const description = textProblem(config.description, MAX_DESCRIPTION, false);
  if (description) bad('description', description);
  const { minValue, maxValue, categories } = config;
  for (const [field, v] of [
    ['minValue', minValue],
    ['maxValue', maxValue],
  ] as const) {
    if (v == null) continue;
    if (config.dataType !== 'NUMERIC') bad(field, 'is only for NUMERIC configs');
    else if (!Number.isFinite(v)) bad(field, 'must be a finite number');
  }
  if (minValue != null && maxValue != null && minValue > maxValue)
    bad('maxValue', 'must not be below minValue');
  if (config.dataType !== 'CATEGORICAL') {
    if (categories != null) bad('categories', 'are only for CATEGORICAL configs');
    return problems;
  }
  if (!categories?.length) {
    bad('categories', 'a CATEGORICAL config needs at least one category');
    return problems;
  }
  if (categories.length > MAX_CATEGORIES) bad('categories', `at most ${MAX_CATEGORIES}`);
  const labels = new Set<string>();
  categories.forEach((category, i) => {
    const label = textProblem(category.label, MAX_STRING_VALUE, true);
    if (label) bad(`categories.${i}.label`, label);
    else if (labels.has(category.label))
      bad(`categories.${i}.label`, `"${category.label}" is listed twice`);
    labels.add(category.label);
    if (category.value != null && !Number.isFinite(category.value))
      bad(`categories.${i}.value`, 'must be a finite number');
  });
  return problems;
}
