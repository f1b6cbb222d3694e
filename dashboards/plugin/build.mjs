// Builds the frontend, module.js, as Grafana loads a plugin: one AMD
// module whose dependencies on Grafana's shared libraries (@grafana/data,
// @grafana/runtime, @grafana/ui, react, react-dom, rxjs, @emotion/css …)
// are left to Grafana's module loader, so the plugin runs with the host's
// copies. Source and JSX go through swc (.swcrc: the classic JSX runtime,
// React.createElement, so one module.js works with Grafana's React 18 and
// 19 alike).
//
//   node build.mjs [OUT]    OUT: the plugin directory (default $PLUGIN_OUT,
//                           else ./dist); module.js and module.js.map are
//                           written there, nothing else is touched.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import webpack from 'webpack';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] || process.env.PLUGIN_OUT || path.join(here, 'dist'));

// What Grafana provides to plugins at run time (its SystemJS import map).
const shared = [
  'react',
  'react-dom',
  'rxjs',
  'rxjs/operators',
  'lodash',
  'moment',
  '@emotion/css',
  '@emotion/react',
  '@grafana/data',
  '@grafana/runtime',
  '@grafana/ui',
];

const config = {
  mode: 'production',
  context: here,
  target: ['web', 'es2022'],
  entry: './src/module.ts',
  output: {
    path: out,
    filename: 'module.js',
    library: { type: 'amd' },
    clean: false, // OUT holds the backend binaries too
  },
  externals: shared,
  resolve: { extensions: ['.ts', '.tsx', '.js', '.json'] },
  module: {
    rules: [{ test: /\.tsx?$/, exclude: /node_modules/, use: 'swc-loader' }],
  },
  devtool: 'source-map',
  performance: { hints: false },
};

const started = Date.now();
webpack(config, (err, stats) => {
  if (err) {
    console.error(`build: ${err.stack || err}`);
    process.exit(1);
  }
  const info = stats.toJson({
    all: false,
    errors: true,
    warnings: true,
    assets: true,
    modules: true,
    nestedModules: true,
  });
  for (const w of info.warnings) {
    console.error(`build warning: ${w.message}`);
  }
  if (stats.hasErrors()) {
    for (const e of info.errors) {
      console.error(`build error: ${e.message}`);
    }
    process.exit(1);
  }
  // Anything from node_modules in the bundle is a second copy of what
  // Grafana provides (or a runtime import of a types-only package such as
  // @grafana/schema): refuse it rather than ship it.
  const flat = (mods) => mods.flatMap((m) => [m, ...flat(m.modules ?? [])]);
  const bundled = flat(info.modules).filter((m) => /node_modules/.test(m.name ?? ''));
  if (bundled.length > 0) {
    console.error(
      `build: bundled from node_modules (add to the shared list or import types only):\n  ${bundled.map((m) => m.name).join('\n  ')}`
    );
    process.exit(1);
  }
  const js = info.assets.find((a) => a.name === 'module.js');
  console.error(`built ${path.join(out, 'module.js')} (${js?.size ?? '?'} bytes) in ${Date.now() - started} ms`);
});
