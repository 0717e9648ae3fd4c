// Renders forms in headless Chromium with both renderers and both languages.
// stdin: {"forms": {name: form}, "chromium": path}; stdout: {"text": {name: {renderer: {lang: text}}},
// "widgets": {name: {renderer: {radio, textarea, checkbox}}} (counted in the zh-CN render),
// "console": [messages of level error or warning, and page errors]}.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const esbuild = require('esbuild');
const { chromium } = require('playwright-core');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update'];

async function bundle(dir) {
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'page.jsx')], bundle: true, outfile: path.join(dir, 'page.js'),
    define: { 'process.env.NODE_ENV': '"production"' }, logLevel: 'error', jsx: 'automatic',
  });
  fs.writeFileSync(path.join(dir, 'index.html'),
    '<!doctype html><meta charset="utf-8"><div id="root"></div><script src="page.js"></script>');
}

async function main(input) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'productkit-forms-'));
  await bundle(dir);
  const browser = await chromium.launch({ executablePath: input.chromium, args: FLAGS });
  const out = { text: {}, widgets: {}, console: [] };
  try {
    const page = await browser.newPage();
    // RJSF warns "Form validation failed" by design when an invalid form is submitted (as here).
    page.on('console', (m) => {
      if (['error', 'warning'].includes(m.type()) && !m.text().startsWith('Form validation failed')) out.console.push(m.text());
    });
    page.on('pageerror', (e) => out.console.push(String(e)));
    await page.goto('file://' + path.join(dir, 'index.html'));
    for (const [name, form] of Object.entries(input.forms)) {
      out.text[name] = {};
      out.widgets[name] = {};
      for (const renderer of ['jsonforms', 'rjsf']) {
        out.text[name][renderer] = {};
        for (const lang of ['zh-CN', 'en']) {
          const { text, ...widgets } = await page.evaluate(
            ([f, r, l]) => window.renderForm(f, r, l), [form, renderer, lang]);
          out.text[name][renderer][lang] = text;
          out.widgets[name][renderer] = widgets;
        }
      }
    }
  } finally {
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

let text = '';
// Decoded as UTF-8 across chunks: a character split between two chunks stays whole.
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { text += chunk; });
process.stdin.on('end', () => {
  main(JSON.parse(text)).then((out) => process.stdout.write(JSON.stringify(out)),
    (e) => { process.stderr.write(String(e.stack || e)); process.exit(1); });
});
