import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { DateTimeResolver, JSONResolver, SafeIntResolver } from 'graphql-scalars';

const DECIMAL = /^-?\d{1,20}(\.\d{1,12})?$/;

function parseDecimal(value: unknown): string {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string' || !DECIMAL.test(text)) {
    throw new GraphQLError(
      'Decimal must be a string of digits such as "12.50" (up to 12 decimals).',
      {
        extensions: { code: 'BAD_USER_INPUT' },
      },
    );
  }
  return text;
}

/** Money and prices: exact decimals, serialised as strings, never floats. */
export const DecimalResolver = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  description: 'An exact decimal number serialised as a string, e.g. "0.0042". Money is in USD.',
  serialize: (value) => {
    // Prisma returns Decimal.js instances; toFixed() avoids exponent notation for tiny costs.
    if (value && typeof value === 'object' && 'toFixed' in value)
      return (value as { toFixed(): string }).toFixed();
    return String(value);
  },
  parseValue: parseDecimal,
  parseLiteral: (ast) =>
    parseDecimal(
      ast.kind === Kind.STRING || ast.kind === Kind.FLOAT || ast.kind === Kind.INT
        ? ast.value
        : undefined,
    ),
});

/** Registers the scalars and the root types; modules add fields to them. */
export function addBaseTypes(b: typeof import('./builder').builder) {
  b.addScalarType('DateTime', DateTimeResolver);
  b.addScalarType('JSON', JSONResolver);
  b.addScalarType('Decimal', DecimalResolver);
  // Token totals outgrow Int (2^31) on busy projects; SafeInt goes to 2^53 as a plain JSON number.
  b.addScalarType('SafeInt', SafeIntResolver);
  b.queryType({});
  b.mutationType({});
  b.subscriptionType({
    description:
      'Live streams: over graphql-ws (WebSocket) or Server-Sent Events, both on /graphql.',
  });
}
