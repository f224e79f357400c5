// How long a cached response may keep a type or a root field is declared with it, in its Pothos
// options: `extensions: { cacheTtlMs: 10_000 }`. The cache plugin reads every declaration from the
// schema. A response lives as long as the shortest TTL of what it holds; 0 keeps it out of the
// cache; what declares none lives EVALGRAPH_RESPONSE_CACHE_TTL_MS.
import { isObjectType, type GraphQLSchema } from 'graphql';

export interface CacheTtlExtension {
  /** Milliseconds a cached response holding this type (or field) is served for. */
  cacheTtlMs?: number;
}

const ttlOf = (extensions: unknown) => (extensions as CacheTtlExtension | undefined)?.cacheTtlMs;

/** Every declared TTL by schema coordinate ("Trace", "Query.usage"), as @envelop/response-cache takes them. */
export function cacheTtls(schema: GraphQLSchema): Record<string, number> {
  const ttls: Record<string, number> = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const own = ttlOf(type.extensions);
    if (own !== undefined) ttls[type.name] = own;
    for (const field of Object.values(type.getFields())) {
      const ttl = ttlOf(field.extensions);
      if (ttl !== undefined) ttls[`${type.name}.${field.name}`] = ttl;
    }
  }
  return ttls;
}
