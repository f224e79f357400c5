// `evalgraph serve`: API and/or worker over one set of deps, with graceful shutdown.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startApi, type ApiServer } from './api';
import type { Config } from './config';
import { createDeps, type DepsOptions } from './deps';
import { createJobs } from './jobs';
import { bootstrap } from './modules/auth/bootstrap';
import { topics } from './modules/evaluations/events';
import { WORK_TOPIC as WEBHOOK_WORK_TOPIC } from './modules/webhooks/service';
import { createServices } from './services';
import { throttle } from './lib/throttle';
import { startWorker, type Worker } from './worker';

export type ServeRole = 'all' | 'api' | 'worker';

export interface ServeOptions extends DepsOptions {
  print?: (line: string) => void;
}

export async function serve(config: Config, role: ServeRole, options: ServeOptions = {}) {
  const print = options.print ?? console.log;
  if (config.database.kind === 'pglite' && role !== 'all') {
    throw new Error('The embedded database has one owner: run `serve` (API and worker together), or set DATABASE_URL to run roles apart.');
  }
  const deps = await createDeps(config, options);
  const pidFile = config.database.kind === 'pglite' ? path.join(config.dataDir, 'serve.pid') : null;
  if (pidFile) {
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(pidFile, String(process.pid));
  }
  const services = createServices(deps);
  let api: ApiServer | null = null;
  let worker: Worker | null = null;
  let unlistenWork = () => {};
  try {
    if (role !== 'worker') {
      const first = await bootstrap(deps, services);
      api = await startApi(deps, services, { port: config.http.port, host: config.http.host });
      const base = config.http.publicUrl ?? api.url;
      // One write, so that whoever reads the banner gets all of it at once.
      const banner = [`Evalgraph API on ${base}/graphql (open it in a browser for GraphiQL)`];
      if (first.created.length) banner.push(`First start: created ${first.created.join(', ')}.`);
      if (first.generatedKey) {
        banner.push(`Admin API key for ${first.adminEmail} (shown once; store it now):\n\n    ${first.generatedKey}\n`);
        banner.push('Send it as the header  Authorization: Bearer <key>');
      }
      print(banner.join('\n'));
    }
    if (role !== 'api') {
      const started = startWorker(deps, createJobs(deps, services));
      worker = started;
      // Work created by any process wakes this worker (polling stays the safety net).
      // Evaluation changes (progress many times a second) wake the webhook job at most every 100 ms.
      const wakeWebhooks = throttle(() => started.wake('webhooks'), 100);
      const unlisten = [
        deps.pubsub.listen(topics.work, () => started.wake('evaluations')),
        deps.pubsub.listen(topics.changed, wakeWebhooks),
        deps.pubsub.listen(WEBHOOK_WORK_TOPIC, () => started.wake('webhooks')),
      ];
      unlistenWork = () => unlisten.forEach((fn) => fn());
    }
  } catch (error) {
    await deps.close();
    throw error;
  }

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      deps.log.info('shutting down: draining requests and jobs');
      unlistenWork();
      // Open streams end, so that their connections can close.
      services.progress.close();
      services.subscriptions.close();
      services.cache.close();
      await Promise.all([api?.close(), worker?.stop()]);
      await services.requests.close();
      await services.closeObservability();
      await deps.close();
      if (pidFile) await rm(pidFile, { force: true });
    })());
  return { deps, services, api, worker, stop };
}

/** Stops on SIGTERM/SIGINT; a second signal exits at once. */
export function stopOnSignals(stop: () => Promise<void>, log: { info(msg: string): void; error(obj: unknown, msg: string): void }) {
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
