import type { Deps } from './deps';
import type { Principal } from './modules/auth/permissions';
import type { Services } from './services';

/** What every resolver gets. Built per request (HTTP, SSE) or per operation (WebSocket). */
export interface Context {
  deps: Deps;
  services: Services;
  /** null when the request carries no key; a bad key never gets this far (401). */
  principal: Principal | null;
  requestId: string;
  /** The client's address (lib/client-address.ts), for the audit log; undefined when unknown. */
  address?: string;
  /** Projects whose data this operation read or wrote (filled by the auth checks; response cache tags). */
  touchedProjects: Set<string>;
  /** A WebSocket operation (ws.ts): a subscription's events are pushed to its socket (a Feed, lib/shared-subscribe.ts). */
  pushed?: boolean;
}
