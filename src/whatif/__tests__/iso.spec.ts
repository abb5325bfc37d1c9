import codes from 'i18n-iso-countries/codes.json';
import atlas from 'world-atlas/countries-110m.json';

import { ISO_NUMERIC_TO_ALPHA2 } from '../iso';

describe('ISO_NUMERIC_TO_ALPHA2', () => {
  const alpha2ByNumeric = new Map((codes as string[][]).map(([alpha2, , numeric]) => [numeric, alpha2]));
  const atlasIds = (
    atlas as { objects: { countries: { geometries: Array<{ id?: string }> } } }
  ).objects.countries.geometries
    .map(shape => shape.id)
    .filter((id): id is string => id !== undefined);

  it('maps every numeric id of the atlas, as the ISO list does', () => {
    for (const id of atlasIds) {
      expect([id, ISO_NUMERIC_TO_ALPHA2[id]]).toEqual([id, alpha2ByNumeric.get(id)]);
    }
    expect(Object.keys(ISO_NUMERIC_TO_ALPHA2).sort()).toEqual([...new Set(atlasIds)].sort());
  });
});
