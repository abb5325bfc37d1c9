import { nullTranslator } from '@jupyterlab/translation';
import * as fs from 'fs';
import * as path from 'path';

import { canonicalVersion, FRONTEND_VERSION, versionMismatchMessage } from '../version';

const trans = nullTranslator.load('jupyterlab_carbon');

describe('FRONTEND_VERSION', () => {
  it('is the version in package.json, the one version source', () => {
    const packageJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf-8'));
    expect(FRONTEND_VERSION).toBe(packageJson.version);
  });
});

describe('canonicalVersion', () => {
  it.each([
    ['1.0.0-rc.1', '1.0.0rc1'],
    ['1.0.0-alpha.2', '1.0.0a2'],
    ['1.0.0-beta', '1.0.0b0'],
    ['2.3.4-dev.5', '2.3.4.dev5'],
    ['v0.1.0', '0.1.0'],
    [' 0.1.0 ', '0.1.0']
  ])('spells the npm version %p and its Python form %p alike', (npm, python) => {
    expect(canonicalVersion(npm)).toBe(canonicalVersion(python));
  });

  it('keeps versions that differ apart', () => {
    expect(canonicalVersion('1.0.0rc1')).not.toBe(canonicalVersion('1.0.0'));
    expect(canonicalVersion('1.0.0a1')).not.toBe(canonicalVersion('1.0.0b1'));
    expect(canonicalVersion('1.0.0.dev1')).not.toBe(canonicalVersion('1.0.0'));
    expect(canonicalVersion('1.0.0+local')).not.toBe(canonicalVersion('1.0.0'));
    expect(canonicalVersion('not a version')).toBe('not a version');
  });
});

describe('versionMismatchMessage', () => {
  it('says nothing when the versions agree, however spelt', () => {
    expect(versionMismatchMessage(trans, '0.1.0', '0.1.0')).toBeNull();
    expect(versionMismatchMessage(trans, '0.2.0-rc.1', '0.2.0rc1')).toBeNull();
  });

  it('names both versions and the fix when they differ, short enough for a toast', () => {
    const message = versionMismatchMessage(trans, '0.2.0', '0.1.0');
    expect(message).toBe(
      'jupyterlab-carbon 0.2.0 in this page, 0.1.0 on the server. Reinstall it, restart the Jupyter server, then reload this page.'
    );
    // JupyterLab's notification toasts show at most 140 characters.
    expect(versionMismatchMessage(trans, '10.20.30-rc.4', '10.20.31')!.length).toBeLessThanOrEqual(140);
  });
});
