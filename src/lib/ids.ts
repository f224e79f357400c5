// Id checks shared by the API edges.
import { randomUUID } from 'node:crypto';
import { decodeGlobalID } from '@pothos/plugin-relay';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A uuid no row has: what an id that is not a uuid is looked up as. */
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

export const isUuid = (value: unknown): value is string =>
  typeof value === 'string' && UUID.test(value);

/** The uuid inside a Relay global id of `typename`, or null when it is not one. */
export function uuidOfGlobalId(globalId: string, typename: string): string | null {
  try {
    const { typename: type, id } = decodeGlobalID(globalId);
    return type === typename && isUuid(id) ? id : null;
  } catch {
    return null;
  }
}

/**
 * A random uuid as a flat string, for ids kept as long as a subscription: the string of
 * crypto.randomUUID is a tree of about fifteen concatenations, which V8 keeps (about 480 bytes
 * while the id lives); this copy weighs about 56.
 */
export const flatUuid = (): string => Buffer.from(randomUUID(), 'latin1').toString('latin1');
