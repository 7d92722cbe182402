// Real-browser test of the human review queue: two reviewers work one
// queue (two reviews per item, a boolean and a 5-point Likert criterion)
// in headless Debian chromium with the keyboard only, taking turns so
// that their locks interleave; then an admin checks through the API that
// every item was reviewed twice, with both reviewers' scores. Driven by
// apptest/browser/review_test.go; by hand:
//
//   WEIR_URL=http://127.0.0.1:8080 WEIR_USER=ada WEIR_PASSWORD=... \
//   WEIR_REVIEWERS=rita,rolf WEIR_QUEUE=support-quality WEIR_ITEMS=6 \
//   node --test review.test.mjs
//
// The reviewers share the admin's password in the test data.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const base = need('WEIR_URL').replace(/\/+$/, '');
const admin = need('WEIR_USER');
const password = need('WEIR_PASSWORD');
const reviewers = need('WEIR_REVIEWERS').split(',');
const queue = need('WEIR_QUEUE');
const items = Number(need('WEIR_ITEMS'));

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

let browser;
// problems collects what went wrong in any page since the last check.
let problems = [];
// Who saw which call, and what each scored, by reviewer.
const seen = new Map();
const scored = new Map();

before(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
});

after(async () => {
  await browser?.close();
});

function noProblems(where) {
  const p = problems;
  problems = [];
  assert.deepEqual(p, [], `problems in the browser (${where})`);
}

// signIn opens a browser context of its own for name (its own cookies)
// and signs in, landing on next.
async function signIn(name, next) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'en-GB' });
  context.setDefaultTimeout(10_000);
  await context.exposeBinding('__weirCSPViolation', (source, v) => {
    problems.push(`CSP violation on ${source.page.url()}: ${v.directive} blocked ${v.blocked}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__weirCSPViolation({ directive: e.violatedDirective, blocked: e.blockedURI || 'inline' });
    }, true);
  });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error (${name}) on ${page.url()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`uncaught exception (${name}) on ${page.url()}: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} for ${r.request().method()} ${r.url()} (${name})`); });
  await page.goto(`${base}/ui/login?next=${encodeURIComponent(next)}`);
  await page.fill('input[name=name]', name);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL((u) => u.pathname === next), page.click('button[type=submit]')]);
  await page.waitForLoadState('networkidle');
  return { name, context, page };
}

// currentCall is the call id of the item on the screen, or null when the
// queue has nothing left for the reviewer.
async function currentCall(page) {
  await page.waitForSelector('#review-form, #review-empty');
  if (await page.$('#review-empty')) return null;
  return (await page.textContent('#review-task .review-io p.small code')).trim();
}

// reviewOne scores the item on the screen with the keyboard only and
// waits for the next item to load. It returns false when nothing is left.
async function reviewOne(r, turn) {
  const { page, name } = r;
  const call = await currentCall(page);
  if (call === null) return false;
  const mine = seen.get(name) ?? new Set();
  assert.ok(!mine.has(call), `${name} was given ${call} again`);
  mine.add(call);
  seen.set(name, mine);

  // The first criterion has the focus once the item is loaded.
  await page.waitForFunction(() => document.activeElement?.closest('fieldset.criterion')?.dataset.criterion === 'polite', null, { timeout: 2000 })
    .catch(() => assert.fail(`${name}: the first criterion is not focused on ${call}`));
  const polite = (turn + name.length) % 2 === 0;
  const clarity = 1 + ((turn * 2 + name.length) % 5);
  if (turn % 3 === 1) {
    // Pick, go back with the up arrow and change the answer.
    await page.keyboard.press(polite ? 'n' : 'y');
    await page.keyboard.press('ArrowUp');
  }
  await page.keyboard.press(polite ? 'y' : 'n');
  // Picking moved the focus to clarity.
  assert.equal(await page.evaluate(() => document.activeElement?.closest('fieldset.criterion')?.dataset.criterion), 'clarity');
  await page.keyboard.press(String(clarity));
  if (turn % 2 === 0) {
    await page.keyboard.press('c');
    await page.keyboard.type(`turn ${turn} by ${name}`);
  }
  const [resp] = await Promise.all([
    page.waitForResponse((x) => x.request().method() === 'POST' && x.url().includes('/ui/review/')),
    page.keyboard.press('Enter'),
  ]);
  assert.equal(resp.status(), 200, `${name}: submitting ${call}`);
  await page.waitForFunction((c) => {
    const code = document.querySelector('#review-task .review-io p.small code');
    return document.querySelector('#review-empty') || (code && code.textContent.trim() !== c);
  }, call);
  const saved = scored.get(name) ?? new Map();
  saved.set(call, { polite, clarity });
  scored.set(name, saved);
  return true;
}

test('two reviewers work the queue with the keyboard', async () => {
  const rs = [];
  for (const name of reviewers) rs.push(await signIn(name, `/ui/review/${queue}`));
  for (const r of rs) {
    // A reviewer's navigation offers the Review page only, with the keys.
    const nav = await r.page.$$eval('nav[aria-label="Pages"] a', (as) => as.map((a) => a.textContent.trim()));
    assert.deepEqual(nav, ['Review'], `${r.name}'s navigation`);
    const keys = await r.page.textContent('.review-keys');
    for (const k of ['Enter', 'skip', 'comment']) assert.ok(keys.includes(k), `the keys' help lacks ${k}`);
    assert.ok(await r.page.isVisible('.review-keys'), 'the keys are not shown');
  }
  noProblems('opening the queue');

  // Take turns: two items each, then the rest one by one. A reviewer with
  // nothing left but an item the other holds looks again on their next
  // turn (the other's submit releases it).
  let turn = 0;
  for (let round = 0; rs.some((r) => (seen.get(r.name)?.size ?? 0) < items); round++) {
    assert.ok(round < items * 4, `the reviewers are stuck: ${JSON.stringify(rs.map((r) => [r.name, seen.get(r.name)?.size]))}`);
    for (const r of rs) {
      for (let i = 0; i < (round === 0 ? 2 : 1); i++) {
        if ((seen.get(r.name)?.size ?? 0) >= items) break;
        if (!(await reviewOne(r, turn++))) {
          await r.page.goto(`${base}/ui/review/${queue}`);
          await r.page.waitForLoadState('networkidle');
          break;
        }
      }
    }
  }
  for (const name of reviewers) {
    assert.equal(seen.get(name)?.size, items, `${name} reviewed ${seen.get(name)?.size} items, want ${items}`);
  }
  noProblems('reviewing');

  // A reviewer cannot open the other pages.
  const r0 = rs[0];
  const resp = await r0.page.goto(`${base}/ui/calls`);
  assert.equal(resp.status(), 403, 'a reviewer opens the calls');
  problems = [];
  for (const r of rs) await r.context.close();
});

test('the API reports every item reviewed twice with both reviewers\' scores', async () => {
  const a = await signIn(admin, '/ui/review');
  const api = a.context.request;
  const q = await (await api.get(`${base}/api/v1/review-queues/${queue}`)).json();
  assert.equal(q.reviews_per_item, 2);
  assert.equal(q.progress.items, items);
  assert.equal(q.progress.reviewed, items, `progress ${JSON.stringify(q.progress)}`);
  assert.equal(q.progress.in_progress, 0);
  assert.deepEqual(q.progress.reviewers.map((r) => [r.reviewer, r.total]), reviewers.map((n) => [n, items]));

  const list = await (await api.get(`${base}/api/v1/review-queues/${queue}/items`)).json();
  assert.equal(list.items.length, items);
  for (const it of list.items) {
    assert.equal(it.reviews, 2, `${it.target}: ${it.reviews} reviews`);
    assert.deepEqual(it.reviewers, [...reviewers].sort(), `${it.target}'s reviewers`);
    const res = await api.get(`${base}/api/v1/scores?target=${encodeURIComponent(it.target)}&target_kind=call`);
    assert.equal(res.status(), 200);
    const { scores } = await res.json();
    assert.equal(scores.length, 4, `${it.target}: ${scores.length} scores, want 2 criteria × 2 reviewers`);
    for (const name of reviewers) {
      const want = scored.get(name).get(it.target);
      const mine = scores.filter((s) => s.evaluator === name);
      assert.equal(mine.length, 2, `${it.target}: ${name}'s scores`);
      for (const s of mine) {
        assert.equal(s.evaluator_kind, 'human');
        assert.equal(s.criterion_version, 1);
        if (s.criterion === 'polite') assert.equal(s.value.bool, want.polite, `${it.target}: ${name}'s polite`);
        else assert.equal(s.value.number, want.clarity, `${it.target}: ${name}'s clarity`);
      }
    }
  }
  noProblems('reading the API');
  await a.context.close();
});
