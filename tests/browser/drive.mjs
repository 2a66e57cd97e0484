// Drives Debian's headless Chromium (through puppeteer-core) for the integration tests: loads
// pages through `shipfront serve` and prints what a visitor got, one JSON line per step.
//
//   node drive.mjs visit URL...   each URL: its status, final URL, headers and what it shows
//   node drive.mjs skew URL       loads URL, says so, waits for a line on stdin (the test deploys
//                                 the next version meanwhile), clicks #more (a lazy import),
//                                 then reloads
import { createInterface } from 'node:readline';
import puppeteer from 'puppeteer-core';

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

function say(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

async function shows(page) {
  return page.evaluate(() => ({
    title: document.title,
    h1: document.querySelector('h1')?.textContent ?? '',
    where: document.querySelector('#where')?.textContent ?? '',
    lazy: document.querySelector('#lazy')?.textContent ?? '',
  }));
}

async function visit(page, url) {
  const response = await page.goto(url, { waitUntil: 'networkidle0' });
  const redirects = response.request().redirectChain().map((r) => r.response()?.status());
  return {
    url,
    final: page.url(),
    status: response.status(),
    redirects,
    headers: response.headers(),
    shows: await shows(page),
  };
}

async function skew(page, url) {
  const first = await visit(page, url);
  say({ step: 'loaded', ...first });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === 'go') break;
  }
  await page.click('#more');
  await page.waitForFunction(() => document.querySelector('#lazy').textContent !== '');
  say({ step: 'clicked', shows: await shows(page) });
  const response = await page.reload({ waitUntil: 'networkidle0' });
  say({ step: 'reloaded', status: response.status(), shows: await shows(page) });
}

const [mode, ...urls] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage();
  const failures = [];
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => failures.push(`request failed: ${r.url()}`));
  // What a page loads that fails; the page itself is judged by the test (a 404 page is one).
  // A browser asks for /favicon.ico on its own; the apps here have none.
  page.on('response', (r) => {
    const own = r.request().isNavigationRequest() || r.url().endsWith('/favicon.ico');
    if (r.status() >= 400 && !own) {
      failures.push(`${r.status()}: ${r.url()}`);
    }
  });
  if (mode === 'visit') {
    for (const url of urls) say({ step: 'visited', ...(await visit(page, url)) });
  } else if (mode === 'skew') {
    await skew(page, urls[0]);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  say({ step: 'done', failures });
} finally {
  await browser.close();
}
