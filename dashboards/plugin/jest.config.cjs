// Jest runs the editor and data source tests in jsdom, compiling
// TypeScript and JSX with swc (.swcrc, as the build does).
//
// @grafana/ui and @grafana/data ship CommonJS that requires a few
// ESM-only packages: those are compiled too (esm below); style sheets and
// the SVG icon loader are stubbed (jest.stub.cjs).
const esm = [
  'marked',
  'd3-color',
  'd3-interpolate',
  'd3-scale-chromatic',
  '@react-hookz/web',
  '@ver0/deep-equal',
  'react-calendar',
  'get-user-locale',
  'memoize',
  'mimic-function',
  '@wojtekmaj/date-utils',
];

module.exports = {
  testEnvironment: 'jsdom',
  roots: ['<rootDir>/src'],
  transform: { '\\.(mjs|jsx?|tsx?)$': '@swc/jest' },
  transformIgnorePatterns: [`node_modules/(?!(${esm.join('|')})/)`],
  moduleNameMapper: {
    '\\.css$': '<rootDir>/jest.stub.cjs',
    '^react-inlinesvg$': '<rootDir>/jest.stub.cjs',
  },
  setupFilesAfterEnv: ['<rootDir>/jest.setup.cjs'],
};
