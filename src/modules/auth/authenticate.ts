import { appError, unauthenticated } from '../../errors';
import { parseBearer } from './api-key';
import type { Principal } from './permissions';
import type { AuthService } from './service';

/** A valid key used from an address outside its allowlist: 403, whatever it asked. */
export const addressNotAllowed = () =>
  appError('FORBIDDEN', 'This API key may not be used from your address.', { status: 403 });

/**
 * The principal of an `Authorization` value (HTTP header or graphql-ws connectionParams), used
 * from `address` (lib/client-address.ts). No value: null (only introspection works then). A
 * malformed, unknown or revoked key: 401. A key whose allowlist leaves the address out: 403.
 */
export async function authenticateHeader(
  auth: AuthService,
  header: string | null | undefined,
  address: string | undefined,
): Promise<Principal | null> {
  const key = parseBearer(header);
  if (key === undefined)
    throw unauthenticated('Malformed Authorization header: expected "Bearer <api key>".');
  if (key === null) return null;
  const principal = await auth.authenticate(key);
  if (!principal) throw unauthenticated('The API key is unknown or revoked.');
  if (principal.addressAllowed && !principal.addressAllowed(address)) throw addressNotAllowed();
  return principal;
}
