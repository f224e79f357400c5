import type { z } from 'zod';
import { badInput } from '../errors';

/** Parses service input; the first problem becomes a BAD_USER_INPUT error naming its path. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  basePath: (string | number)[] = ['input'],
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [...basePath, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
  throw badInput(`${path.slice(basePath.length).join('.') || 'input'}: ${issue.message}`, path);
}
