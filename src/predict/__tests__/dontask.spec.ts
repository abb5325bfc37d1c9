import { CodeCellModel } from '@jupyterlab/cells';

import { isDontAsk, METADATA_KEY, setDontAsk } from '../dontask';

describe("Don't ask again", () => {
  it('is stored as carbon.predict.dont_ask, keeping the other carbon metadata', () => {
    const model = new CodeCellModel();
    expect(isDontAsk(model)).toBe(false);
    model.setMetadata(METADATA_KEY, { live: true, predict: { other: 1 } });
    setDontAsk(model);
    expect(isDontAsk(model)).toBe(true);
    expect(model.getMetadata(METADATA_KEY)).toEqual({ live: true, predict: { other: 1, dont_ask: true } });
  });

  it('ignores malformed metadata', () => {
    const model = new CodeCellModel();
    model.setMetadata(METADATA_KEY, 'nonsense');
    expect(isDontAsk(model)).toBe(false);
    setDontAsk(model);
    expect(model.getMetadata(METADATA_KEY)).toEqual({ predict: { dont_ask: true } });
  });
});
