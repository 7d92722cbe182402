// Real-browser test of Weir's dashboard: headless Debian chromium driven by
// playwright-core, run with node's own test runner. apptest/browser starts
// Weir with recorded calls and runs it; by hand:
//
//   WEIR_URL=http://127.0.0.1:8080 WEIR_USER=ada WEIR_PASSWORD=... \
//   WEIR_SCREENSHOTS=/tmp/shots node --test dashboard.test.mjs
//
// The pages to open are read from the dashboard's navigation, so a new page
// is covered as soon as it is linked there. Every page must answer 200 with
// no console error, no uncaught exception, no failed request and no
// Content-Security-Policy violation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const base = need('WEIR_URL').replace(/\/+$/, '');
const user = need('WEIR_USER');
const password = need('WEIR_PASSWORD');
const shots = process.env.WEIR_SCREENSHOTS || '';
const timezone = 'Europe/Berlin';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

let browser, context, page;
// problems collects what went wrong in the browser since the last check.
let problems = [];

before(async () => {
  if (shots) mkdirSync(shots, { recursive: true });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  context = await browser.newContext({
    viewport: { width: 1366, height: 900 },
    timezoneId: timezone,
    locale: 'en-GB',
    acceptDownloads: true,
  });
  context.setDefaultTimeout(10_000);
  // CSP violations are reported through a binding, which the policy does
  // not restrict; the listener is installed before any page script runs.
  await context.exposeBinding('__weirCSPViolation', (source, v) => {
    problems.push(`CSP violation on ${source.page.url()}: ${v.directive} blocked ${v.blocked} (${v.source})`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__weirCSPViolation({
        directive: e.violatedDirective, blocked: e.blockedURI || 'inline',
        source: `${e.sourceFile || ''}:${e.lineNumber || 0}`,
      });
    }, true);
  });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error on ${page.url()}: ${m.text()} (${m.location().url || 'no source'})`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught exception on ${page.url()}: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A link that downloads a file ends its navigation request this way.
    if (r.failure()?.errorText === 'net::ERR_ABORTED' && r.isNavigationRequest() && /\.csv(\?|$)/.test(r.url())) return;
    problems.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} for ${r.request().method()} ${r.url()}`);
  });
});

after(async () => {
  await browser?.close();
});

// noProblems fails with everything the browser reported since the last
// call, and starts a new collection.
function noProblems(where) {
  const p = problems;
  problems = [];
  assert.deepEqual(p, [], `problems in the browser (${where})`);
}

// open navigates to url and checks the answer is a 200 page.
async function open(url) {
  const resp = await page.goto(new URL(url, base).href, { waitUntil: 'load' });
  assert.ok(resp, `no response for ${url}`);
  assert.equal(resp.status(), 200, `GET ${url}`);
  await settle();
}

// settle waits until htmx and scripts are done with the page.
async function settle() {
  await page.waitForLoadState('networkidle');
}

// Screenshots are of the whole page down to maxShotHeight pixels, which
// keeps a long list's PNG near 300 KB.
const maxShotHeight = 1100;

// shoot saves a screenshot as NAME.png in WEIR_SCREENSHOTS.
async function shoot(name) {
  if (!shots) return;
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.screenshot({
    path: path.join(shots, `${name}.png`), fullPage: true, animations: 'disabled', caret: 'hide',
    clip: { x: 0, y: 0, width: 1366, height: Math.min(height, maxShotHeight) },
  });
}

// slug names a dashboard path's screenshot: /ui/ is overview, /ui/use-cases
// is use-cases.
function slug(href) {
  const p = new URL(href, base).pathname.replace(/^\/ui\/?/, '').replace(/\/+$/, '');
  return p === '' ? 'overview' : p.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
}

// checkTimes checks that the page's <time> elements show the viewer's
// local time (Europe/Berlin), not the UTC text the server writes.
async function checkTimes() {
  const times = await page.$$eval('time[datetime]', (els) => els.map((e) => ({ dt: e.getAttribute('datetime'), text: e.textContent.trim() })));
  for (const { dt, text } of times) {
    assert.doesNotMatch(text, /UTC/, `<time datetime="${dt}"> still shows UTC on ${page.url()}`);
    const clock = text.match(/\b(\d{1,2}):(\d{2})\b/);
    if (!clock) continue;
    const d = new Date(dt);
    const h23 = Number(new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: 'numeric', hourCycle: 'h23' }).format(d));
    const minute = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, minute: '2-digit' }).format(d).padStart(2, '0');
    const hours = [h23, h23 % 12 === 0 ? 12 : h23 % 12];
    assert.ok(hours.includes(Number(clock[1])) && clock[2] === minute,
      `<time datetime="${dt}"> shows "${text}", not ${timezone} time (${h23}:${minute}) on ${page.url()}`);
  }
  return times.length;
}

// navLinks reads the dashboard's page list from its navigation.
async function navLinks() {
  const links = await page.$$eval('nav[aria-label="Pages"] a[href]', (as) => as.map((a) => ({ name: a.textContent.trim(), href: a.getAttribute('href') })));
  assert.ok(links.length >= 2, `the navigation lists ${links.length} pages`);
  return links;
}

// callRows are the rows of the calls list: table rows with a link to a call.
function callRows() {
  return page.locator('main tr').filter({ has: page.locator('a[href*="/ui/calls/"]') });
}

// useCaseOf returns the use case a link leads to: its page
// (/ui/usecases/NAME) or its calls (?use_case=NAME); '' for other links.
function useCaseOf(href) {
  const u = new URL(href, base);
  const m = u.pathname.match(/^\/ui\/use-?cases\/([^/]+)$/);
  if (m) return decodeURIComponent(m[1]);
  return u.pathname.startsWith('/ui/calls') ? u.searchParams.get('use_case') || '' : '';
}

async function waitFor(what, fn, timeout = 5_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let pages = [];
let useCase = '';

test('signing in: /ui/ sends to the sign-in page, then back to the overview', async () => {
  const resp = await page.goto(`${base}/ui/`);
  assert.equal(resp.status(), 200);
  assert.match(new URL(page.url()).pathname, /^\/ui\/login$/, 'an anonymous visit ends on the sign-in page');
  await settle();
  await shoot('sign-in');
  await page.getByLabel('Name').fill(user);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL(`${base}/ui/`), page.getByRole('button', { name: /sign in/i }).click()]);
  await settle();
  assert.equal(await page.locator('h1').first().textContent(), 'Overview');
  assert.match(await page.locator('header').textContent(), new RegExp(user));
  pages = await navLinks();
  const hrefs = await page.$$eval('main a[href]', (as) => as.map((a) => a.getAttribute('href')));
  useCase = hrefs.map(useCaseOf).find(Boolean) || '';
  assert.ok(useCase, `the overview links no use case: ${hrefs.join(' ')}`);
  noProblems('sign-in');
});

test('every page of the navigation opens cleanly', async (t) => {
  assert.ok(pages.length, 'signed in');
  for (const { name, href } of pages) {
    await t.test(`${name} (${href})`, async () => {
      problems = [];
      await open(href);
      const h1 = (await page.locator('main h1').first().textContent()).trim();
      assert.ok(h1, `${name} has a heading`);
      const current = await page.locator('nav[aria-label="Pages"] a[aria-current="page"]').getAttribute('href');
      assert.equal(current, href, `${name} is marked as the current page in the navigation`);
      await checkTimes();
      await shoot(slug(href));
      noProblems(`${name} ${href}`);
    });
  }
});

test('calls: "/" focuses the filter, a use-case filter narrows the list and the URL', async () => {
  const calls = pages.find((p) => new URL(p.href, base).pathname === '/ui/calls');
  assert.ok(calls, 'the navigation links the calls list');
  await open(calls.href);
  assert.ok(await checkTimes() > 0, 'the calls list shows when each call was made');
  const before = await callRows().count();
  assert.ok(before > 0, 'the calls list shows calls');

  await page.locator('main h1').first().click();
  await page.keyboard.press('/');
  const focused = await page.evaluate(() => {
    const e = document.activeElement;
    return { tag: e?.tagName, name: e?.getAttribute('name') || '', value: e?.value ?? '', inForm: !!e?.closest('form') };
  });
  assert.ok(['INPUT', 'SELECT'].includes(focused.tag) && focused.inForm, `"/" focused ${JSON.stringify(focused)}, not a filter field`);
  assert.ok(!focused.value.includes('/'), 'the "/" is not typed into the filter');

  const tz = page.locator('main form [name="tz"]');
  if (await tz.count()) assert.equal(await tz.first().inputValue(), timezone, 'the filter reads days in the viewer\'s time zone');

  const field = page.locator('main form [name="use_case"]').first();
  assert.equal(await field.count(), 1, 'the calls list has a use-case filter (name="use_case")');
  if (await field.evaluate((e) => e.tagName) === 'SELECT') {
    await field.selectOption({ label: useCase });
  } else {
    await field.fill(useCase);
  }
  const moved = page.waitForURL((u) => u.searchParams.get('use_case') === useCase);
  const submit = page.locator('main form').filter({ has: field }).locator('button[type="submit"], input[type="submit"], button:not([type])');
  if (await submit.count()) await submit.first().click();
  else await field.press('Enter');
  await moved;
  await settle();
  await waitFor('the filtered rows', async () => {
    const rows = await callRows().allTextContents();
    return rows.length > 0 && rows.every((r) => r.includes(useCase));
  });
  const texts = await callRows().allTextContents();
  for (const t of texts) assert.ok(t.includes(useCase), `row "${t.replace(/\s+/g, ' ').trim()}" is not of ${useCase}`);
  noProblems('calls filter');
});

test('calls: Download CSV exports the filtered calls', async () => {
  assert.equal(new URL(page.url()).searchParams.get('use_case'), useCase, 'the list is filtered');
  const link = page.locator('main a[href*="calls.csv"]').first();
  assert.match(await link.textContent(), /csv/i);
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.match(download.suggestedFilename(), /\.csv$/);
  const text = readFileSync(await download.path(), 'utf8');
  const lines = text.trim().split('\n');
  const header = lines[0].split(',');
  assert.deepEqual(header.slice(0, 4), ['id', 'received_at', 'endpoint', 'use_case']);
  assert.ok(lines.length >= 2, 'the export has at least one call');
  const col = header.indexOf('use_case');
  for (const l of lines.slice(1)) {
    if (l.startsWith('#')) continue;
    assert.equal(l.split(',')[col], useCase, `exported row of another use case: ${l}`);
  }
  noProblems('CSV export');
});

test('following a use case leads to one of its calls', async () => {
  const usecases = pages.find((p) => /use.?cases/i.test(p.name));
  await open(usecases ? usecases.href : '/ui/');
  const hrefs = await page.$$eval('main a[href]', (as) => as.map((a) => a.getAttribute('href')));
  const href = hrefs.find((h) => useCaseOf(h) === useCase);
  assert.ok(href, `${useCase} is linked from ${page.url()}`);
  let link = page.locator(`main a[href="${href}"]`).first();
  let callID = '';
  const trail = [new URL(page.url()).pathname];
  // Down at most four pages (use case, instance, calls, call), preferring
  // the most direct link to a single call.
  for (let hop = 0; hop < 4 && !callID; hop++) {
    const from = page.url();
    await Promise.all([page.waitForURL((u) => u.href !== from), link.click()]);
    await settle();
    const at = new URL(page.url());
    trail.push(at.pathname + at.search);
    noProblems(`following ${useCase} to ${page.url()}`);
    // Pages outside the navigation get their screenshots on the way.
    if (/^\/ui\/use-?cases\/[^/]+$/.test(at.pathname)) await shoot('usecase');
    if (/\/instances?\/[^/]+$/.test(at.pathname)) await shoot('instance');
    // A successful streamed call (status shown as .ok) makes the richest
    // page; any call will do.
    let call = page.locator('main a[href*="/ui/calls/"]').first();
    for (const sel of ['main tr:has(.ok):has([title="streamed"]) a[href*="/ui/calls/"]', 'main tr:has(.ok) a[href*="/ui/calls/"]']) {
      if (await page.locator(sel).count()) {
        call = page.locator(sel).first();
        break;
      }
    }
    const instance = page.locator('main a[href*="instance"]').first();
    if (await call.count()) {
      callID = decodeURIComponent((await call.getAttribute('href')).split('/').pop());
      link = call;
    } else if (await instance.count()) {
      link = instance;
    } else {
      link = page.locator('main a[href*="/ui/calls?"]').first();
      assert.equal(await link.count(), 1, `no way on from ${page.url()}`);
    }
  }
  assert.ok(callID, `no call reached from ${useCase}`);
  await Promise.all([page.waitForURL((u) => u.pathname.endsWith(`/ui/calls/${callID}`)), link.click()]);
  await settle();
  trail.push(new URL(page.url()).pathname);
  console.log(`followed ${useCase}: ${trail.join(' → ')}`);
  assert.match(await page.locator('main').textContent(), new RegExp(callID), 'the call page shows its id');
  assert.match(await page.locator('main').textContent(), new RegExp(useCase), 'the call page shows its use case');
  await checkTimes();
  await shoot('call');
  noProblems('call detail');
});

test('signing out ends the session', async () => {
  await page.getByRole('button', { name: /sign out/i }).click();
  await page.waitForURL((u) => u.pathname === '/ui/login' || u.pathname === '/ui/');
  await settle();
  await page.goto(`${base}/ui/calls`);
  assert.equal(new URL(page.url()).pathname, '/ui/login', 'the calls list needs signing in again');
  noProblems('sign out');
});
