import { valuesOf, WRITE_COLUMNS, type ScoreWrite } from './repo';

describe('a score write', () => {
  it('sends each value at the place of its column', () => {
    // Every field holds its own name, so a value out of place shows which.
    const at = new Date('2026-12-06T00:00:00.000Z');
    const row = Object.fromEntries(
      WRITE_COLUMNS.map(([key]) => [key, key === 'timestamp' ? at : key]),
    ) as unknown as ScoreWrite;
    expect(valuesOf(row)).toEqual(
      WRITE_COLUMNS.map(([key]) => (key === 'timestamp' ? at.toISOString() : key)),
    );
  });
});
