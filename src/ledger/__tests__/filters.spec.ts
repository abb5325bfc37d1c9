import { run as baseRun } from '../../badges/__tests__/fixtures';
import { IRun } from '../../tokens';
import { combineFilters, EMPTY_FORM, formToFilters, localDayStart, runMatches, splitList } from '../filters';

function run(extra: Partial<IRun> = {}): IRun {
  return { ...baseRun('a', 10), experiment: 'train', tags: ['gpu', 'v2'], ...extra };
}

describe('formToFilters', () => {
  it('sends nothing for an empty form', () => {
    expect(formToFilters(EMPTY_FORM, 'nb.ipynb')).toEqual({});
  });

  it('maps every field to the server query', () => {
    const filters = formToFilters(
      {
        search: '  resnet ',
        thisNotebook: true,
        experiment: ' exp ',
        tags: 'gpu, v2,,gpu',
        kernelId: 'k1',
        from: '2026-03-01',
        to: '2026-03-02',
        method: 'measured',
        flags: 'interrupted',
        trash: true
      },
      'dir/nb.ipynb'
    );
    expect(filters).toEqual({
      q: 'resnet',
      notebook_path: 'dir/nb.ipynb',
      experiment: 'exp',
      tags: ['gpu', 'v2'],
      kernel_id: 'k1',
      since: new Date(2026, 2, 1).getTime() / 1000,
      until: new Date(2026, 2, 3).getTime() / 1000, // the last day included
      method: 'measured',
      flags: ['interrupted'],
      deleted: 'only'
    });
  });

  it('leaves the notebook out when none is in focus, and ignores malformed dates', () => {
    expect(formToFilters({ ...EMPTY_FORM, thisNotebook: true, from: '2026-13-45x' }, null)).toEqual({});
    expect(localDayStart('')).toBeUndefined();
  });
});

describe('splitList', () => {
  it('trims, drops empty items and duplicates', () => {
    expect(splitList(' a, b ,,a ')).toEqual(['a', 'b']);
  });
});

describe('combineFilters', () => {
  it('keeps the narrower time bounds and joins tag lists', () => {
    expect(combineFilters({ since: 10, until: 100, tags: ['a'] }, { since: 20, until: 50, tags: ['b'] })).toEqual({
      since: 20,
      until: 50,
      tags: ['a', 'b']
    });
  });
});

describe('runMatches', () => {
  it('matches the search over notebook, code, experiment and tags, case-insensitively', () => {
    expect(runMatches(run(), { q: 'DEMO' })).toBe(true); // notebook demo.ipynb
    expect(runMatches(run(), { q: 'x = 1' })).toBe(true); // code
    expect(runMatches(run(), { q: 'TRAIN' })).toBe(true); // experiment
    expect(runMatches(run(), { q: 'v2' })).toBe(true); // tag
    expect(runMatches(run(), { q: 'nothing' })).toBe(false);
  });

  it('applies equality, time, method, tag and flag filters as the server does', () => {
    expect(runMatches(run(), { experiment: 'train', notebook_path: 'demo.ipynb' })).toBe(true);
    expect(runMatches(run(), { kernel_id: 'other' })).toBe(false);
    expect(runMatches(run(), { since: 1_800_000_000, until: 1_800_000_001 })).toBe(true);
    expect(runMatches(run(), { until: 1_800_000_000 })).toBe(false); // until is exclusive
    expect(runMatches(run(), { method: 'modeled' })).toBe(true);
    expect(runMatches(run(), { method: 'measured' })).toBe(false);
    expect(runMatches(run(), { tags: ['gpu', 'v2'] })).toBe(true);
    expect(runMatches(run(), { tags: ['gpu', 'v3'] })).toBe(false);
    expect(runMatches(run({ flags: ['interrupted'] }), { flags: ['interrupted'] })).toBe(true);
    expect(runMatches(run(), { flags: ['interrupted'] })).toBe(false);
  });

  it('never shows a live run in the trash view', () => {
    expect(runMatches(run(), { deleted: 'only' })).toBe(false);
  });

  it('defaults the experiment of an old server run to its notebook', () => {
    expect(runMatches(run({ experiment: undefined }), { experiment: 'demo.ipynb' })).toBe(true);
  });
});
