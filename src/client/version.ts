import { TranslationBundle } from '@jupyterlab/translation';

// package.json is the one version source (the Python package reads it at build time too).
// A require, not an import: package.json lies outside the compiled src/ folder; the bundler
// (and jest) resolve it. Declared here alone rather than pulling Node's types into browser code.
declare function require(path: string): unknown;
const packageJson = require('../../package.json') as { version: string };

/** The version of this frontend. */
export const FRONTEND_VERSION: string = packageJson.version;

/** npm and PEP 440 spellings of one version: 1.0.0-rc.1 and 1.0.0rc1, 1.0.0-alpha.2 and 1.0.0a2. */
const VERSION_PATTERN =
  /^v?(\d+)\.(\d+)\.(\d+)(?:[-_.]?(alpha|beta|preview|pre|rc|a|b|c)[-_.]?(\d+)?)?(?:[-_.]?dev[-_.]?(\d+)?)?(?:\+(.+))?$/i;

const PRE_RELEASE_LABELS: Record<string, string> = {
  alpha: 'a',
  a: 'a',
  beta: 'b',
  b: 'b',
  c: 'rc',
  rc: 'rc',
  pre: 'rc',
  preview: 'rc'
};

/**
 * One spelling of a version, so that the npm package's version and the Python package's
 * (derived from it by hatch-nodejs-version) compare equal; an unparsable version stays as given.
 */
export function canonicalVersion(version: string): string {
  const trimmed = version.trim();
  const match = VERSION_PATTERN.exec(trimmed);
  if (!match) {
    return trimmed;
  }
  const [, major, minor, patch, preLabel, preNumber, devNumber, local] = match;
  let canonical = `${Number(major)}.${Number(minor)}.${Number(patch)}`;
  if (preLabel) {
    canonical += `${PRE_RELEASE_LABELS[preLabel.toLowerCase()]}${Number(preNumber ?? 0)}`;
  }
  if (devNumber !== undefined || /dev/i.test(trimmed.replace(/\+.*$/, ''))) {
    canonical += `.dev${Number(devNumber ?? 0)}`;
  }
  if (local) {
    canonical += `+${local.toLowerCase()}`;
  }
  return canonical;
}

/**
 * What to tell the user when the server extension's version differs from this frontend's
 * (a stale page after an upgrade, or an install that updated one side only); null when they agree.
 */
export function versionMismatchMessage(
  trans: TranslationBundle,
  frontendVersion: string,
  serverVersion: string
): string | null {
  if (canonicalVersion(frontendVersion) === canonicalVersion(serverVersion)) {
    return null;
  }
  // Short enough for a notification toast (JupyterLab cuts them at 140 characters).
  return trans.__(
    'jupyterlab-carbon %1 in this page, %2 on the server. Reinstall it, restart the Jupyter server, then reload this page.',
    frontendVersion,
    serverVersion
  );
}
