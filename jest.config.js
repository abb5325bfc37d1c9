const jestJupyterLab = require('@jupyterlab/testutils/lib/jest-config');

// JupyterLab's packages ship ES modules: let babel transform them along with the base list.
const esModules = [
  '@codemirror',
  '@jupyter/',
  '@jupyterlab/',
  '@lumino/',
  '@marijn',
  '@microsoft',
  'color',
  'exenv-es6',
  'lib0',
  'marked',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

const baseConfig = jestJupyterLab(__dirname);

module.exports = {
  ...baseConfig,
  automock: false,
  reporters: ['default'],
  testRegex: 'src/.*/.*.spec.ts[x]?$',
  modulePathIgnorePatterns: ['<rootDir>/server-ext/', '<rootDir>/ui-tests/', '<rootDir>/.venv/'],
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`]
};
