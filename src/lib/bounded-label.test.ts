import { boundedLabel } from './bounded-label';

test('the first values pass, later new ones are "other"; known values always pass', () => {
  const label = boundedLabel(2, ['Viewer']);
  expect(['a', 'b', 'c', 'a', 'Viewer', undefined].map(label)).toEqual([
    'a',
    'b',
    'other',
    'a',
    'Viewer',
    'Anonymous',
  ]);
});
