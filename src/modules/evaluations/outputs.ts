// Where an evaluation's outputs ({{sample.output_text}}) come from: the items' own output field
// (STORED), or the caller's, sent item by item as its experiment produces them (SUPPLIED:
// supplied.ts). Decided when the evaluation is created, on top of its data source.
import type { EvaluationItemState, EvaluationOutputs } from '../../generated/prisma/enums';
import { badInput } from '../../errors';
import type { DataSourceInput, ItemRow } from './data-source';

/** What the data source input says of outputs, besides where the items come from. */
export interface OutputsInput {
  outputs?: EvaluationOutputs | null;
}

export interface OutputPlan {
  outputs: EvaluationOutputs;
  /** The state its items start in: waiting for their outputs, or ready to grade. */
  itemState: EvaluationItemState;
  rows: ItemRow[];
  /** What is stored of the data source, with where its outputs come from. */
  stored: object;
}

/** The items as they are stored for the outputs asked for (any output of their own is not used). */
export function planOutputs(
  source: DataSourceInput & OutputsInput,
  rows: ItemRow[],
  stored: object,
): OutputPlan {
  const outputs = source.outputs ?? 'STORED';
  if (outputs === 'STORED') return { outputs, itemState: 'PENDING', rows, stored };
  // A span is its own output: nothing is to come from elsewhere.
  if (source.traces)
    throw badInput('Outputs are supplied for a dataset or for items given inline, not for spans.', [
      'input',
      'dataSource',
      'outputs',
    ]);
  return {
    outputs,
    itemState: 'AWAITING_OUTPUT',
    // Left out, so stored as SQL NULL: an item without its output yet (rerunEvaluation tells by it).
    rows: rows.map((r) => ({ ...r, output: undefined })),
    stored: { ...stored, outputs },
  };
}
