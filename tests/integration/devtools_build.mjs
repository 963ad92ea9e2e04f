// Builds from the chrome-devtools-frontend npm package, which ships
// DevTools' TypeScript sources for its own gn build, with esbuild:
//   engine: the trace engine (front_end/models/trace, the model the
//           Performance panel parses a loaded file into) as one ES module,
//           OUT/trace.js;
//   app:    the trace_app entry point (DevTools' Performance panel without a
//           debuggee, as Chromium opens a trace) with devtools_panel.mjs,
//           which reads what the panel draws, sharing its modules.
// What gn generates is given here as that build would: core/i18n/locales.js
// (en-US only), *.css.js (the stylesheet's text), Images/Images.js (the
// icons are served from Images/src), the AI assistance *.skill.js (unused,
// empty); node:* (the engine's Node host runtime, unused in a page) empty.
// usage: node devtools_build.mjs engine|app ESBUILD_NODE_MODULES FRONT_END OUT_DIR
import {createRequire} from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {fileURLToPath} from 'node:url';

const [mode, modules, frontEnd, out] = process.argv.slice(2);
const esbuild = createRequire(modules + '/')('esbuild');
const LOCALES = "export const LOCALES = ['en-US'], BUNDLED_LOCALES = ['en-US'], " +
    "DEFAULT_LOCALE = 'en-US', REMOTE_FETCH_PATTERN = '', " +
    "LOCAL_FETCH_PATTERN = './locales/@LOCALE@.json';";
const STUBS = {locales: LOCALES, skill: 'export const skill = {};', empty: 'export default {};'};
const generated = {
  name: 'generated',
  setup(build) {
    const stub = name => () => ({path: name, namespace: 'stub'});
    build.onResolve({filter: /^node:/}, stub('empty'));
    build.onResolve({filter: /^\.\/locales\.js$/}, stub('locales'));
    build.onResolve({filter: /\/Images\/Images\.js$/}, stub('empty'));
    build.onResolve({filter: /\.skill\.js$/}, stub('skill'));
    build.onResolve({filter: /^devtools-frontend\//},
                    a => ({path: path.join(frontEnd, a.path.slice(18).replace(/\.js$/, '.ts'))}));
    build.onResolve({filter: /\.css\.js$/},
                    a => ({path: path.join(a.resolveDir, a.path.slice(0, -3)), namespace: 'css'}));
    build.onLoad({filter: /.*/, namespace: 'stub'}, a => ({contents: STUBS[a.path]}));
    build.onLoad({filter: /.*/, namespace: 'css'},
                 a => ({contents: `export default ${JSON.stringify(fs.readFileSync(a.path, 'utf8'))};`}));
  },
};
const common = {bundle: true, format: 'esm', plugins: [generated], logLevel: 'error'};
if (mode === 'engine') {
  await esbuild.build({...common, entryPoints: [frontEnd + '/models/trace/trace.ts'],
                       outfile: path.join(out, 'trace.js')});
} else {
  await esbuild.build({
    ...common,
    entryPoints: {
      trace_app: frontEnd + '/entrypoints/trace_app/trace_app.ts',
      panel: path.join(path.dirname(fileURLToPath(import.meta.url)), 'devtools_panel.mjs'),
    },
    splitting: true,
    outdir: out,
  });
  for (const f of ['application_tokens.css', 'design_system_tokens.css']) {
    fs.copyFileSync(path.join(frontEnd, f), path.join(out, f));
  }
  fs.cpSync(path.join(frontEnd, 'Images', 'src'), path.join(out, 'Images'), {recursive: true});
  // the strings are the sources' own (en-US): no translations to load
  fs.mkdirSync(path.join(out, 'locales'));
  fs.writeFileSync(path.join(out, 'locales', 'en-US.json'), '{}');
  fs.writeFileSync(path.join(out, 'trace_app.html'), `<!DOCTYPE html>
<html lang="en">
<meta charset="utf-8">
<title>DevTools</title>
<script type="module" src="./trace_app.js"></script>
<script type="module" src="./panel.js"></script>
<link href="./application_tokens.css" rel="stylesheet">
<link href="./design_system_tokens.css" rel="stylesheet">
<body class="undocked" id="-blink-dev-tools">
`);
}
