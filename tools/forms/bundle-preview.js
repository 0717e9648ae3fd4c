// Bundles preview.jsx (JSON Forms and React, pinned in package.json) into one script for the
// docs site: `node bundle-preview.js OUT.js`.
'use strict';
const path = require('path');
const esbuild = require('esbuild');

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: node bundle-preview.js OUT.js\n');
  process.exit(2);
}
esbuild.build({
  entryPoints: [path.join(__dirname, 'preview.jsx')], bundle: true, minify: true, outfile: path.resolve(out),
  define: { 'process.env.NODE_ENV': '"production"' }, logLevel: 'error', jsx: 'automatic', legalComments: 'none',
}).catch((e) => { process.stderr.write(String(e.stack || e)); process.exit(1); });
