import { lexicographicSortSchema, printSchema } from 'graphql';
import { getSchema } from './index';

/** The committed SDL: sorted so that diffs show real changes only. */
export function printSchemaFile(): string {
  return `${printSchema(lexicographicSortSchema(getSchema()))}\n`;
}
