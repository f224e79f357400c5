// The descriptions of the judge spending fields (evaluations, their results and progress, run
// comparisons, online evaluation rule stats): one wording wherever they appear. What counts as
// unpriced is costs/unpriced.ts.

export const JUDGE_TOKENS =
  'Judge tokens, as the providers reported them (a call whose provider reported no usage adds none).';

export const JUDGE_COST =
  'USD of the priced judge calls (see judgeUnpricedCalls); null when there were judge calls and none could be priced; "0" when no judge was called.';

/**
 * The count of unpriced calls beside a cost. Nullable only as the cost is: for a caller without
 * the costs right (a refused non-null field would null its whole parent).
 */
export const unpricedCalls = (
  calls: string,
  cost: string,
  nullWhen = 'without the right to read costs',
) =>
  `${calls} whose cost is unknown, their model having no price or their provider reporting no usage; ${cost} leaves them out. Null only ${nullWhen}.`;

export const JUDGE_UNPRICED_CALLS = unpricedCalls('Judge calls', 'judgeCost');

export const GENERATION_COST =
  'USD of the priced calls generating its outputs (GENERATED; see generationUnpricedCalls); null when there were such calls and none could be priced.';

export const GENERATION_UNPRICED_CALLS = unpricedCalls(
  'Calls generating its outputs',
  'generationCost',
);
