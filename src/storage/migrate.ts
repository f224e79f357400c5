// Migrations through Prisma's own schema engine compiled to WebAssembly, so that they run
// offline and at air-gapped sites, and keep Prisma's `_prisma_migrations` table (a site with
// the native CLI sees the same history). The engine reaches the database through a driver adapter.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  bindMigrationAwareSqlAdapterFactory,
  ColumnTypeEnum,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { handleClientErrors } from './pg-pool';

const ROOT = path.resolve(__dirname, '..', '..');
export const SCHEMA_PATH = path.join(ROOT, 'prisma', 'schema.prisma');
export const MIGRATIONS_DIR = path.join(ROOT, 'prisma', 'migrations');
const NO_FILTER = { externalTables: [], externalEnums: [] };

type EngineModule = typeof import('@prisma/schema-engine-wasm');
let engineModule: Promise<EngineModule> | undefined;

/** Loads the WASM engine once per process. Its package entry imports the `.wasm` as a bundler
 * would, which Node cannot, so the bindings are loaded and the module instantiated here. */
function loadEngineModule(): Promise<EngineModule> {
  engineModule ??= (async () => {
    const bindingsPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bindings = await import(pathToFileURL(bindingsPath).href);
    const bytes = await readFile(bindingsPath.replace(/\.js$/, '.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, {
      './schema_engine_bg.js': bindings,
    });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bindings as EngineModule;
  })();
  return engineModule;
}

export interface MigrationEngine {
  /** `migrate deploy`: applies the migrations not yet applied; returns their names. */
  apply(): Promise<string[]>;
  /** Names of the committed migrations not yet applied to the database. */
  pending(): Promise<string[]>;
  /** SQL from the migrations to schema.prisma (empty when there is nothing to do). Uses a shadow database. */
  diffMigrationsToSchema(): Promise<string>;
  /** SQL from the live database to schema.prisma: empty when the database has no drift. */
  diffDatabaseToSchema(): Promise<string>;
  close(): Promise<void>;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationList> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrationDirectories = await Promise.all(
    names.map(async (name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: {
          tag: 'ok' as const,
          value: await readFile(path.join(dir, name, 'migration.sql'), 'utf8'),
        },
      },
    })),
  );
  const lockfile = await readFile(path.join(dir, 'migration_lock.toml'), 'utf8').catch(() => null);
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: lockfile },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

export async function createMigrationEngine(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  options: { schemaPath?: string; migrationsDir?: string } = {},
): Promise<MigrationEngine> {
  const schemaPath = options.schemaPath ?? SCHEMA_PATH;
  const migrationsDir = options.migrationsDir ?? MIGRATIONS_DIR;
  const schema = await readFile(schemaPath, 'utf8');
  const files = [{ path: schemaPath, content: schema }];
  const { SchemaEngine } = await loadEngineModule();
  const factory = bindMigrationAwareSqlAdapterFactory(adapterFactory);
  const engine: SchemaEngine = await SchemaEngine.new(
    { datamodels: [[schemaPath, schema]] },
    () => {},
    factory,
  );

  // The engine reports adapter errors as "External error id#N"; the real error is in the registry.
  const explain = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const id = /External error id#(\d+)/.exec(message)?.[1];
      const cause = id ? factory.errorRegistry.consumeError(Number(id)) : undefined;
      const detail = cause ? `: ${JSON.stringify(cause.error)}` : '';
      throw new Error(`migration engine: ${message}${detail}`, { cause: error });
    }
  };

  return {
    async apply() {
      const migrationsList = await readMigrations(migrationsDir);
      const out = await explain(() =>
        engine.applyMigrations({ migrationsList, filters: NO_FILTER }),
      );
      return out.appliedMigrationNames;
    },
    async pending() {
      const migrationsList = await readMigrations(migrationsDir);
      const out = await explain(() =>
        engine.diagnoseMigrationHistory({
          migrationsList,
          optInToShadowDatabase: false,
          filters: NO_FILTER,
        }),
      );
      const history = out.history;
      if (!history) return [];
      if (history.diagnostic === 'databaseIsBehind' || history.diagnostic === 'historiesDiverge')
        return history.unappliedMigrationNames;
      return [];
    },
    async diffMigrationsToSchema() {
      const migrationsList = await readMigrations(migrationsDir);
      const from =
        migrationsList.migrationDirectories.length === 0
          ? ({ tag: 'empty' } as const)
          : ({ tag: 'migrations', ...migrationsList } as const);
      const out = await explain(() =>
        engine.diff({
          from,
          to: { tag: 'schemaDatamodel', files },
          script: true,
          exitCode: null,
          filters: NO_FILTER,
        }),
      );
      return emptyIfNoop(out.stdout);
    },
    async diffDatabaseToSchema() {
      const out = await explain(() =>
        engine.diff({
          from: { tag: 'schemaDatasource', files, configDir: path.dirname(schemaPath) },
          to: { tag: 'schemaDatamodel', files },
          script: true,
          exitCode: null,
          filters: NO_FILTER,
        }),
      );
      return emptyIfNoop(out.stdout);
    },
    async close() {
      engine.free();
    },
  };
}

/** The engine prints a comment for an empty diff; only SQL statements count. */
function emptyIfNoop(sql: string | null): string {
  const text = (sql ?? '').trim();
  const statements = text
    .split('\n')
    .filter((line) => line.trim() && !line.trim().startsWith('--'));
  return statements.length === 0 ? '' : `${text}\n`;
}

/** pg reports Postgres' internal `"char"` type (OID 18) in catalog queries, which
 * @prisma/adapter-pg 7.10 refuses; the adapter gets it as text, and the engine is told it is a
 * character (WholeScriptPg: it reads pg_constraint.contype as one, and Postgres 18, PGlite's, lists
 * NOT NULL constraints there). Only the engine's pool uses this. */
const CHAR_OID = 18;
const TEXT_OID = 25;
/** The `"char"` columns of each catalog query the engine sent, by its text. */
const charColumns = new Map<string, Set<string>>();
class CatalogClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg.Client.query has a dozen overloads; this forwards them all unchanged.
  override query(...args: any[]): any {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
    const text: unknown = typeof args[0] === 'string' ? args[0] : args[0]?.text;
    const result = (super.query as (...a: unknown[]) => Promise<pg.QueryResult>)(...args).then(
      (res) => {
        for (const field of res?.fields ?? [])
          if (field.dataTypeID === CHAR_OID) {
            field.dataTypeID = TEXT_OID;
            if (typeof text === 'string')
              charColumns.set(text, (charColumns.get(text) ?? new Set()).add(field.name));
          }
        return res;
      },
    );
    if (!callback) return result;
    result.then(
      (res) => callback(null, res),
      (error) => callback(error),
    );
  }
}

/** @prisma/adapter-pg 7.10 runs a migration script by splitting it at every ";", which breaks
 * function bodies ($$ … $$). The whole script goes to Postgres at once instead (the simple query
 * protocol, as the native engine sends it), which also makes each migration all or nothing. */
class WholeScriptPg extends PrismaPg {
  constructor(private readonly pool: pg.Pool) {
    super(pool);
  }

  override async connect() {
    const adapter = await super.connect();
    const queryRaw = adapter.queryRaw.bind(adapter);
    adapter.queryRaw = async (query) => {
      const result = await queryRaw(query);
      const chars = charColumns.get(query.sql);
      if (chars)
        result.columnTypes = result.columnTypes.map((type, i) =>
          chars.has(result.columnNames[i]) ? ColumnTypeEnum.Character : type,
        );
      return result;
    };
    adapter.executeScript = async (script: string) => {
      try {
        await this.pool.query(script);
      } catch (error) {
        // The adapter's own conversion to the error type the engine understands.
        (adapter as unknown as { onError(error: unknown): never }).onError(error);
      }
    };
    return adapter;
  }
}

/** A migration engine on a Postgres connection string; closes its own pool. */
export async function createPostgresMigrationEngine(
  connectionString: string,
  options: { migrationsDir?: string } = {},
): Promise<MigrationEngine> {
  const pool = handleClientErrors(new pg.Pool({ connectionString, max: 2, Client: CatalogClient }));
  const engine = await createMigrationEngine(new WholeScriptPg(pool), options);
  return {
    ...engine,
    close: async () => {
      await engine.close();
      await pool.end();
    },
  };
}
