import { createAnalyzeSchedule, rowsChanged } from './pglite-analyze';

const message = (type: string, body: string) => {
  const text = Buffer.from(body, 'latin1');
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(text.length + 4, 1);
  return Buffer.concat([head, text]);
};
const complete = (tag: string) => message('C', `${tag}\0`);

test('rows changed are read from the CommandComplete tags of a reply', () => {
  const reply = Buffer.concat([
    message('1', ''),
    message('2', ''),
    complete('INSERT 0 1000'),
    message('D', '\0\0'),
    complete('SELECT 1'),
    complete('UPDATE 7'),
    complete('DELETE 3'),
    message('Z', 'I'),
  ]);
  expect(rowsChanged(reply)).toBe(1010);
  expect(rowsChanged(Buffer.concat([complete('SELECT 500'), message('Z', 'I')]))).toBe(0);
});

test('ANALYZE is due past 50 + 10% of the rows changed, at most once a minute', () => {
  let now = 0;
  const schedule = createAnalyzeSchedule(() => now);
  schedule.changed(49);
  now = 60_000;
  expect(schedule.due()).toBe(false);
  schedule.changed(1);
  expect(schedule.due()).toBe(true);
  schedule.analyzed(10_000);
  schedule.changed(5_000);
  now = 119_999;
  expect(schedule.due()).toBe(false);
  now = 120_000;
  expect(schedule.due()).toBe(true);
  schedule.analyzed(10_000);
  now = 200_000;
  schedule.changed(1_049);
  expect(schedule.due()).toBe(false);
  schedule.changed(1);
  expect(schedule.due()).toBe(true);
});
