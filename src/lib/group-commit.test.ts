import { createGroupCommit } from './group-commit';

describe('createGroupCommit', () => {
  it('writes items added during a write together in the next one, each getting its own result', async () => {
    const groups: number[][] = [];
    let release: () => void = () => {};
    const commit = createGroupCommit(async (group: number[]) => {
      groups.push(group);
      if (groups.length === 1) await new Promise<void>((r) => (release = r));
      return group.map((n) => n * 10);
    });
    const first = commit.add(1);
    const rest = [commit.add(2), commit.add(3), commit.add(4)];
    release();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
    expect(groups).toEqual([[1], [2, 3, 4]]);
  });

  it('rejects every item of a failed group, and goes on with the next', async () => {
    let fail = true;
    const commit = createGroupCommit(async (group: string[]) => {
      if (fail) {
        fail = false;
        throw new Error('database down');
      }
      return group;
    });
    await expect(commit.add('a')).rejects.toThrow('database down');
    expect(await commit.add('b')).toBe('b');
  });

  it('writes a failed group again item by item: an item the write cannot take fails alone', async () => {
    const groups: string[][] = [];
    let release: () => void = () => {};
    const commit = createGroupCommit(async (group: string[]) => {
      groups.push(group);
      if (groups.length === 1) await new Promise<void>((r) => (release = r));
      if (group.includes('bad')) throw new Error('invalid byte sequence');
      return group.map((s) => s.toUpperCase());
    });
    const first = commit.add('first');
    const rest = [commit.add('a'), commit.add('bad'), commit.add('b')];
    release();
    expect(await first).toBe('FIRST');
    const settled = await Promise.allSettled(rest);
    expect(settled.map((r) => (r.status === 'fulfilled' ? r.value : r.reason.message))).toEqual([
      'A',
      'invalid byte sequence',
      'B',
    ]);
    expect(groups).toEqual([['first'], ['a', 'bad', 'b'], ['a'], ['bad'], ['b']]);
  });
});

describe('between', () => {
  it('runs a read between two writes, given the items added and not yet written', async () => {
    const written: number[] = [];
    let release: () => void = () => {};
    const commit = createGroupCommit(async (group: number[]) => {
      if (!written.length) await new Promise<void>((r) => (release = r));
      written.push(...group);
      return group;
    });
    const first = commit.add(1);
    const second = commit.add(2);
    // Asked while 1 is being written: it waits for that write, then sees 1 written and 2 waiting.
    const seen = commit.between(async (unwritten) => ({
      written: [...written],
      unwritten: [...unwritten],
    }));
    const third = commit.add(3);
    release();
    expect(await seen).toEqual({ written: [1], unwritten: [2, 3] });
    await Promise.all([first, second, third]);
    expect(written).toEqual([1, 2, 3]);
  });
});
