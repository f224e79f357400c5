import { jsonParam } from './json-param';

describe('jsonParam', () => {
  it('writes half of a character and U+0000 as U+FFFD, and everything else as JSON does', () => {
    const emoji = '😀';
    const value = {
      cut: `a${emoji.slice(0, 1)}`,
      low: `${emoji.slice(1)}b`,
      nul: 'x\u0000y',
      whole: emoji,
      // Backslashes before a "u" are text, not escapes.
      text: '\\ud800 and \\\\u0000',
      control: '\u0001',
    };
    const sent = jsonParam(value);
    expect(JSON.parse(sent)).toEqual({
      ...value,
      cut: 'a\ufffd',
      low: '\ufffdb',
      nul: 'x\ufffdy',
    });
    expect(jsonParam([1, 'plain'])).toBe(JSON.stringify([1, 'plain']));
  });
});
