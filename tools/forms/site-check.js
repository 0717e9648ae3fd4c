// Opens every page of a productkit docs site in headless Chromium (playwright-core) and checks
// it: console errors, form previews (each declared field shows with its label), journey
// diagrams (every step drawn, with a size), and links (every local href and src resolves,
// fragments included). Writes the screenshots asked for.
// stdin: {"site": dir, "chromium": path, "shots": [{"page": rel, "file": png, "selector"?: css}]}
// stdout: {"pages", "console", "forms", "fields", "missing", "diagrams", "bad_diagrams", "links", "broken"}
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update'];
const WORKERS = 2;

function htmlFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.html'))
    .map((d) => path.relative(dir, path.join(d.parentPath || d.path, d.name))).sort();
}

// In the page: wait for every preview to render, then report forms, diagrams and links.
async function inspect() {
  const hosts = [...document.querySelectorAll('.pk-form[data-form]')];
  for (let i = 0; i < 400; i += 1) {
    if (hosts.every((h) => h.dataset.rendered)) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const forms = hosts.map((host) => {
    const form = (window.PK_FORMS || {})[host.dataset.form];
    const texts = form ? form.i18n[host.dataset.lang] : {};
    const labels = [];
    const walk = (el) => {
      if (el.type === 'Control') labels.push(texts[el.i18n + '.label'] || el.label);
      (el.elements || []).forEach(walk);
    };
    if (form) walk(form.uischema);
    const shown = host.innerText;
    return { form: host.dataset.form, lang: host.dataset.lang, found: !!form, rendered: !!host.dataset.rendered,
      labels: labels.length, missing: labels.filter((l) => !shown.includes(l)) };
  });
  const diagrams = [...document.querySelectorAll('svg.pk-journey')].map((svg) => {
    const box = svg.getBBox();
    const drawn = svg.querySelectorAll('g.pk-step').length;
    const empty = [...svg.querySelectorAll('g.pk-step')].filter((g) => g.getBBox().width === 0).length;
    return { channel: svg.dataset.channel, declared: Number(svg.dataset.steps), drawn, empty,
      width: box.width, height: box.height };
  });
  const links = [...document.querySelectorAll('a[href], link[href], script[src]')]
    .map((el) => el.href || el.src);
  return { forms, diagrams, links };
}

function checkLink(url, from) {
  const u = new URL(url);
  if (u.protocol !== 'file:') return null; // the site links nowhere else; nothing to fetch
  const file = decodeURIComponent(u.pathname);
  if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) return `${from} -> ${url}: no such file`;
  if (u.hash && file.endsWith('.html')) {
    const id = decodeURIComponent(u.hash.slice(1));
    if (!fs.readFileSync(file, 'utf8').includes(`id="${id}"`)) return `${from} -> ${url}: no element #${id}`;
  }
  return null;
}

// One tab per worker, reused from page to page (a new tab per page costs more than the page).
async function tab(browser, out) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => { if (m.type() === 'error') out.console.push(`${page.url()}: ${m.text()}`); });
  page.on('pageerror', (e) => out.console.push(`${page.url()}: ${e}`));
  page.on('requestfailed', (r) => out.console.push(`${page.url()}: failed to load ${r.url()}`));
  return page;
}

async function visit(page, site, rel, out) {
  const started = Date.now();
  await page.goto('file://' + path.join(site, rel), { waitUntil: 'load' });
  const found = await page.evaluate(inspect);
  if (process.env.PK_TIMING) process.stderr.write(`${Date.now() - started} ms ${rel}\n`);
  for (const f of found.forms) {
    out.forms += 1;
    out.fields += f.labels;
    if (!f.found || !f.rendered || f.missing.length) out.missing.push({ page: rel, ...f });
  }
  for (const d of found.diagrams) {
    out.diagrams += 1;
    if (d.drawn !== d.declared || d.drawn === 0 || d.empty || d.width <= 0) out.bad_diagrams.push({ page: rel, ...d });
  }
  for (const link of found.links) {
    out.links += 1;
    const problem = checkLink(link, rel);
    if (problem) out.broken.push(problem);
  }
}

async function shoot(browser, site, shot) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto('file://' + path.join(site, shot.page), { waitUntil: 'load' });
  await page.evaluate(inspect);
  if (shot.selector) await page.locator(shot.selector).first().screenshot({ path: shot.file });
  else await page.screenshot({ path: shot.file, fullPage: false });
  await page.close();
}

async function main(input) {
  const site = path.resolve(input.site);
  const pages = htmlFiles(site);
  const out = { pages: pages.length, console: [], forms: 0, fields: 0, missing: [], diagrams: 0, bad_diagrams: [],
    links: 0, broken: [] };
  const browser = await chromium.launch({ executablePath: input.chromium, args: FLAGS });
  try {
    const queue = [...pages];
    const worker = async () => {
      const page = await tab(browser, out);
      for (let rel; (rel = queue.shift()) !== undefined;) await visit(page, site, rel, out);
      await page.close();
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    for (const shot of input.shots || []) await shoot(browser, site, shot);
  } finally {
    await browser.close();
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
