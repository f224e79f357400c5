// `evalgraph serve`: API and/or worker over one set of deps, with graceful shutdown.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startApi, type ApiServer } from './api';
import { startBanner } from './banner';
import type { Config } from './config';
import { createDeps, type DepsOptions } from './deps';
import { bootstrap } from './modules/auth/bootstrap';
import { createServices } from './services';
import { settledBy } from './lib/deadline';
import { createJobs } from './worker/jobs';
import { startWorkerPool, type WorkerPool } from './worker/pool';
import { startProbeServer, type ProbeServer } from './worker/probes';
import { readinessChecks } from './readiness';

export type ServeRole = 'all' | 'api' | 'worker';

export interface ServeOptions extends DepsOptions {
  print?: (line: string) => void;
}

export async function serve(config: Config, role: ServeRole, options: ServeOptions = {}) {
  const print = options.print ?? console.log;
  if (config.database.kind === 'pglite' && role !== 'all') {
    throw new Error(
      'The embedded database has one owner: run `serve` (API and worker together), or set DATABASE_URL to run roles apart.',
    );
  }
  const deps = await createDeps(config, options);
  const pidFile = config.database.kind === 'pglite' ? path.join(config.dataDir, 'serve.pid') : null;
  if (pidFile) {
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(pidFile, String(process.pid));
  }
  const services = createServices(deps);
  let api: ApiServer | null = null;
  let worker: WorkerPool | null = null;
  let probes: ProbeServer | null = null;
  try {
    if (role !== 'worker') {
      const first = await bootstrap(deps, services);
      api = await startApi(deps, services, { port: config.http.port, host: config.http.host });
      const base = config.http.publicUrl ?? api.url;
      // One write, so that whoever reads the banner gets all of it at once.
      print(startBanner({ base, ...first, now: deps.clock.now() }));
    }
    // The API answers the probes itself; a worker alone, when asked to: before it claims any work,
    // so that a port in use stops it with nothing to hand back.
    if (role === 'worker' && config.http.workerPort !== null) {
      probes = await startProbeServer({
        port: config.http.workerPort,
        host: config.http.host,
        checks: readinessChecks(deps, services),
        metrics: deps.metrics,
      });
      print(`worker probes and metrics on ${probes.url} (/health/live, /health/ready, /metrics)`);
    }
    // Work created by any process wakes the jobs over pub/sub (polling stays the safety net).
    if (role !== 'api') worker = startWorkerPool(deps, createJobs(deps, services));
  } catch (error) {
    await deps.close();
    throw error;
  }

  let stopping: Promise<void> | null = null;
  /**
   * Stops within EVALGRAPH_SHUTDOWN_TIMEOUT_MS, whatever is still open. Judge calls are aborted at
   * once; requests and webhook deliveries in flight may finish until the drain deadline (a little
   * before the end, which is kept for handing work back and closing); then they are cut or aborted,
   * the work this process held is handed back, and connections close. A step still running at the
   * deadline is left behind and logged. Resolves once the work held was handed back (a restarted
   * server resumes it at once); rejects when it could not be (its leases expire instead).
   */
  const stop = () =>
    (stopping ??= (async () => {
      const timeoutMs = config.http.shutdownTimeoutMs;
      const deadline = Date.now() + timeoutMs;
      const drainBy = deadline - Math.min(2_000, timeoutMs / 4);
      deps.log.info({ timeoutMs }, 'shutting down: draining requests and jobs');
      const steps = new Map<string, 'running' | 'done' | 'failed'>();
      const step = (name: string, fn: () => Promise<unknown> | undefined) => {
        steps.set(name, 'running');
        const running = Promise.resolve().then(fn);
        running.then(
          () => steps.set(name, 'done'),
          (error) => {
            steps.set(name, 'failed');
            deps.log.error({ err: error, step: name }, 'shutdown step failed');
          },
        );
        return running;
      };
      // Open streams end (and new ones end at once), so that their connections can close.
      services.progress.close();
      services.subscriptions.close();
      services.cache.close();
      const handedBack = step('worker', () => worker?.stop(drainBy));
      const drained = step('api', () => api?.close(drainBy));
      // Answered until the work is handed back: a probe then sees the process as it is.
      const probed = handedBack.finally(() => probes?.close());
      const closing = (async () => {
        await Promise.allSettled([handedBack, drained, probed]);
        await step('request counts', () => services.requests.close()).catch(() => {});
        await step('rule match counts', () => services.evaluationRules.close()).catch(() => {});
        await step('observability', () => services.closeObservability()).catch(() => {});
        await step('database and redis', () => deps.close()).catch(() => {});
      })();
      if (!(await settledBy([closing], deadline))) {
        const open = [...steps].filter(([, state]) => state === 'running').map(([name]) => name);
        deps.log.warn(
          { open, timeoutMs },
          'shutdown timeout reached; leaving the open steps behind',
        );
        deps.log.debug(
          { resources: process.getActiveResourcesInfo() },
          'still keeping the process alive',
        );
      }
      if (pidFile) await rm(pidFile, { force: true });
      if (steps.get('worker') !== 'done')
        throw new Error(
          `the work this process held was not handed back in time (${steps.get('worker')}); its leases expire instead`,
        );
    })());
  return { deps, services, api, worker, stop };
}

/** Stops on SIGTERM/SIGINT; a second signal exits at once. */
export function stopOnSignals(
  stop: () => Promise<void>,
  log: { info(msg: string): void; error(obj: unknown, msg: string): void },
) {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(1);
    signalled = true;
    log.info(`${signal} received`);
    stop().then(
      () => process.exit(0),
      (error) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
