// Imports every module's types; builds the schema once.
import type { GraphQLSchema } from 'graphql';
import { builder } from './builder';
import { addBaseTypes } from './scalars';

addBaseTypes(builder);
import '../modules/auth/schema';
import '../modules/auth/mutations';
import '../modules/projects/schema';
import '../modules/traces/schema';
import '../modules/traces/queries';
import '../modules/costs/schema';

let schema: GraphQLSchema | undefined;

export function getSchema(): GraphQLSchema {
  schema ??= builder.toSchema({ sortSchema: true });
  return schema;
}
