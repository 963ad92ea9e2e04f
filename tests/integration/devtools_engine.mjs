// Bundles DevTools' trace engine (front_end/models/trace, the model the
// Performance panel draws) from the chrome-devtools-frontend npm package,
// which ships TypeScript sources only, into one ES module for the browser.
// DevTools' own build (gn) generates core/i18n/locales.js and picks a host
// runtime; here locales.js is the en-US-only module that build would write,
// and node:* (the engine's Node host runtime, unused in a page) are empty.
// usage: node devtools_engine.mjs ESBUILD_NODE_MODULES FRONT_END OUT.js
import {createRequire} from 'node:module';

const [modules, frontEnd, out] = process.argv.slice(2);
const esbuild = createRequire(modules + '/')('esbuild');
const LOCALES = "export const LOCALES = ['en-US'], BUNDLED_LOCALES = ['en-US'], " +
    "DEFAULT_LOCALE = 'en-US', REMOTE_FETCH_PATTERN = '', " +
    "LOCAL_FETCH_PATTERN = './locales/@LOCALE@.json';";
const stubs = {
  name: 'stubs',
  setup(build) {
    build.onResolve({filter: /^node:/}, a => ({path: a.path, namespace: 'stub'}));
    build.onResolve({filter: /^\.\/locales\.js$/}, a => ({path: 'locales', namespace: 'stub'}));
    build.onLoad({filter: /.*/, namespace: 'stub'},
                 a => ({contents: a.path === 'locales' ? LOCALES : 'export default {};'}));
  },
};
await esbuild.build({
  entryPoints: [frontEnd + '/models/trace/trace.ts'],
  bundle: true,
  format: 'esm',
  outfile: out,
  plugins: [stubs],
  logLevel: 'error',
});
