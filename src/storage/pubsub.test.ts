import pino from 'pino';
import { createMemoryPubSub } from './pubsub';

it('knows whether a topic has listeners, as they come and go', async () => {
  const pubsub = createMemoryPubSub(pino({ level: 'silent' }));
  const heard: unknown[] = [];
  expect(await pubsub.listened('t')).toBe(false);
  const offA = pubsub.listen('t', (p) => heard.push(['a', p]));
  const offB = pubsub.listen('t', (p) => heard.push(['b', p]));
  expect(await pubsub.listened('t')).toBe(true);
  expect(await pubsub.listened('other')).toBe(false);
  pubsub.publish('t', 1);
  offA();
  offA();
  expect(await pubsub.listened('t')).toBe(true);
  offB();
  expect(await pubsub.listened('t')).toBe(false);
  pubsub.publish('t', 2);
  expect(heard).toEqual([
    ['a', 1],
    ['b', 1],
  ]);
});
