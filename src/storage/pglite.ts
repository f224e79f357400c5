// Every embedded database is opened here, with the Postgres extensions our migrations create:
// Postgres ships them as contrib, PGlite loads each as a module given to its constructor (a
// database whose catalog holds an extension it was not given fails when that extension is used).
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PrismaPGlite } from 'pglite-prisma-adapter';

/** pg_trgm: for the phrase search of span text (traces/search-sql.ts; its index: docs/SCALING.md). */
const extensions = { pg_trgm };

export const openPglite = (options: Omit<PGliteOptions, 'extensions'> = {}) =>
  PGlite.create({ ...options, extensions });

/** Prisma's adapter for PGlite, whose shadow database (the migration engine's diffs) has the same extensions. */
export class PgliteAdapter extends PrismaPGlite {
  override async connectToShadowDb() {
    return new PrismaPGlite(await openPglite()).connect();
  }
}
