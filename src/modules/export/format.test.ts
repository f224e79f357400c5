import { encodeRows, failureOf, headerOf, trailerOf } from './format';

describe('export formats', () => {
  const columns = ['id', 'text', 'tags', 'at', 'n', 'none'];
  const row = {
    id: 'a',
    text: 'one, "two"\nthree',
    tags: ['x', 'y'],
    at: new Date('2026-03-01T00:00:00.000Z'),
    n: 1.5,
    none: null,
    extra: 'not a column',
  };

  it('writes CSV per RFC 4180: quoted when needed, quotes doubled, nested values as JSON', () => {
    expect(headerOf('csv', columns)).toBe('id,text,tags,at,n,none\r\n');
    expect(encodeRows('csv', columns, [row])).toBe(
      'a,"one, ""two""\nthree","[""x"",""y""]",2026-03-01T00:00:00.000Z,1.5,\r\n',
    );
  });

  it('keeps a spreadsheet from running a text cell as a formula, and leaves numbers alone', () => {
    const cells = ['=1+1', '+SUM(A1)', '-2', '@cmd', '\tx', 'plain'];
    expect(
      encodeRows(
        'csv',
        ['v'],
        cells.map((v) => ({ v })),
      ),
    ).toBe(["'=1+1", "'+SUM(A1)", "'-2", "'@cmd", "'\tx", 'plain'].map((c) => `${c}\r\n`).join(''));
    expect(encodeRows('csv', ['n'], [{ n: -2 }])).toBe('-2\r\n');
    // JSON Lines keep the text as it is.
    expect(JSON.parse(encodeRows('jsonl', ['v'], [{ v: '=1+1' }])).v).toBe('=1+1');
  });

  it('writes JSON Lines with the columns only, null for missing values', () => {
    expect(headerOf('jsonl', columns)).toBe('');
    const [line, end] = encodeRows('jsonl', columns, [row]).split('\n');
    expect(end).toBe('');
    expect(JSON.parse(line)).toEqual({
      id: 'a',
      text: row.text,
      tags: ['x', 'y'],
      at: '2026-03-01T00:00:00.000Z',
      n: 1.5,
      none: null,
    });
  });

  it('ends with the cursor, or the failure, on a line of its own', () => {
    expect(trailerOf('jsonl', 'abc', true)).toBe('{"cursor":"abc","hasMore":true}\n');
    expect(trailerOf('csv', null, false)).toBe('# cursor= hasMore=false\r\n');
    expect(failureOf('csv', 'down\nnow', 'SERVICE_UNAVAILABLE')).toBe(
      '# error=SERVICE_UNAVAILABLE down now\r\n',
    );
    expect(JSON.parse(failureOf('jsonl', 'down', 'SERVICE_UNAVAILABLE'))).toEqual({
      errors: [{ message: 'down', extensions: { code: 'SERVICE_UNAVAILABLE' } }],
    });
  });
});
