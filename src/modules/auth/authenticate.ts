import { unauthenticated } from '../../errors';
import { parseBearer } from './api-key';
import type { Principal } from './permissions';
import type { AuthService } from './service';

/**
 * The principal of an `Authorization` value (HTTP header or graphql-ws connectionParams).
 * No value: null (only introspection works then). A malformed, unknown or revoked key: 401.
 */
export async function authenticateHeader(
  auth: AuthService,
  header: string | null | undefined,
): Promise<Principal | null> {
  const key = parseBearer(header);
  if (key === undefined)
    throw unauthenticated('Malformed Authorization header: expected "Bearer <api key>".');
  if (key === null) return null;
  const principal = await auth.authenticate(key);
  if (!principal) throw unauthenticated('The API key is unknown or revoked.');
  return principal;
}
