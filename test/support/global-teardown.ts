import { rm } from 'node:fs/promises';
import path from 'node:path';
import { dropTemplate } from './databases';

export default async function globalTeardown() {
  await dropTemplate();
  const dump = process.env.EVALGRAPH_TEST_TEMPLATE_DUMP;
  if (dump) await rm(path.dirname(dump), { recursive: true, force: true });
}
