// The studio's data view in a real browser (Debian's chromium, playwright-core): a task file as the
// trainer encodes it, each token marked target or masked exactly as `gptune data inspect` labels it,
// drops and packing shown, and a bad option value reported under its field. Screenshot saved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { skipWithoutBrowser, withStudioPage } from './page.js';
import { runDataInspect, type InspectedRow, type InspectSummary } from '../../src/run/data_inspect.js';
import { IGNORE_INDEX } from '../../src/data/index.js';
import { BASE_MODEL } from '../serve/helpers.js';
import { tempDir } from '../helpers/temp_dir.js';

const skip = skipWithoutBrowser;
const SUPPORT = join(process.cwd(), 'data', 'support', 'train.jsonl');

/** What data inspect itself gives for these options (the CLI's function, called directly). */
function inspect(o: { maxLength: number; truncation: 'left' | 'right' | 'drop'; packing: boolean; limit: number }): InspectedRow[] & { summary?: InspectSummary } {
  const rows: InspectedRow[] & { summary?: InspectSummary } = [];
  rows.summary = runDataInspect({ model: BASE_MODEL, tokenizer: undefined, data: SUPPORT, format: 'auto', json: false, ...o }, (r) => rows.push(r));
  return rows;
}

async function fill(page: Page, values: Record<string, string>) {
  for (const [name, v] of Object.entries(values)) {
    const sel = `#dv-form [data-option="${name}"]`;
    if ((await page.getAttribute(sel, 'type')) === 'checkbox') await page.setChecked(sel, v === 'true');
    else if (await page.$(`#dv-form select[data-option="${name}"]`)) await page.selectOption(sel, v);
    else await page.fill(sel, v);
  }
  await page.click('#dv-open');
}

test('the data view marks target and masked tokens as data inspect labels them, with drops, packing and option errors', { skip, timeout: 60_000 }, async (t) => {
  const out = tempDir('studio-data-');
  await withStudioPage({ runsDir: join(out, 'runs'), port: 0 }, 1000, async (page) => {
    await page.waitForSelector('#dv-form [data-option="data"]');

    // A bad value comes back under its own field, in the CLI's words.
    await fill(page, { data: SUPPORT, model: BASE_MODEL, maxLength: '1' });
    await page.waitForSelector('[data-field="maxLength"].invalid');
    assert.equal(await page.textContent('#dv-form [data-error-for="maxLength"]'), '--max-length must be an integer in [2, ∞], got \'1\'');

    // Rows as the trainer sees them: each token's id and target/masked mark equal data inspect's labels.
    await fill(page, { maxLength: '64', limit: '3' });
    await page.waitForSelector('#dv-rows .data-row');
    assert.equal(await page.textContent('#dv-form [data-error-for="maxLength"]'), '');
    const shown = await page.$$eval('#dv-rows .data-row', (rows) => rows.map((r) => [...r.querySelectorAll('.tok')].map((s) => [Number(s.getAttribute('title')!.match(/^id (\d+)/)![1]), s.classList.contains('target')])));
    const want = inspect({ maxLength: 64, truncation: 'left', packing: false, limit: 3 });
    assert.equal(shown.length, 3);
    want.forEach((r, i) => assert.deepEqual(shown[i], r.input_ids!.map((id, k) => [id, r.labels![k] !== IGNORE_INDEX]), `row ${i}`));
    // The prompt is masked, the answer is the target: both kinds are on the page, the target after the mask.
    assert.ok(shown[0].some(([, trained]) => !trained) && shown[0].some(([, trained]) => trained));
    assert.equal(shown[0][0][1], false);
    const targetText = await page.$$eval('#dv-rows .data-row:first-child .tok.target', (s) => s.map((x) => x.textContent).join(''));
    assert.match(targetText, /^ Lumen Plus costs 4 euros per month/);
    const s = want.summary!;
    assert.equal(await page.textContent('#dv-summary'), `3 rows read at --max-length 64: 3 kept, ${s.truncated} truncated, 0 dropped`);
    // A truncated row says so, with the policy and how much was cut.
    const cutRow = want.findIndex((r) => r.truncated);
    if (cutRow >= 0) assert.match(await page.textContent(`#dv-rows .data-row:nth-child(${cutRow + 1}) h3`) ?? '', new RegExp(`truncated left: ${want[cutRow].truncated!.tokens} tokens cut`));
    await page.screenshot({ path: join(out, 'studio-data.png'), fullPage: true });

    // Too short for some rows with --truncation drop: those rows say why they were dropped.
    await fill(page, { maxLength: '24', truncation: 'drop', limit: '6' });
    await page.waitForSelector('#dv-rows .data-row.dropped');
    const dropWant = inspect({ maxLength: 24, truncation: 'drop', packing: false, limit: 6 }).filter((r) => r.dropped);
    const drops = await page.$$eval('#dv-rows .data-row.dropped h3', (h) => h.map((x) => x.textContent));
    assert.equal(drops.length, dropWant.length);
    assert.match(drops[0]!, new RegExp(`^row ${dropWant[0].row} \\(train\\.jsonl:${dropWant[0].line}\\): dropped, ${dropWant[0].dropped!.replace(/-/g, ' ')} \\(${dropWant[0].tokens} tokens\\)$`));

    // Packing: packed rows with their examples laid out, positions as the trainer's collation gives them.
    await fill(page, { maxLength: '128', truncation: 'left', packing: 'true', limit: '2' });
    await page.waitForSelector('#dv-rows .data-row .layout');
    const packed = inspect({ maxLength: 128, truncation: 'left', packing: true, limit: 2 });
    const members = await page.$$eval('#dv-rows .data-row', (rows) => rows.map((r) => [...r.querySelectorAll('.segment')].map((s) => [Number((s as HTMLElement).dataset.member), s.querySelectorAll('.tok').length])));
    assert.deepEqual(members, packed.map((r) => {
      const starts = r.position_ids!.flatMap((p, i) => (p === 0 ? [i] : []));
      return r.rows!.map((row, k) => [row, (starts[k + 1] ?? r.input_ids!.length) - starts[k]]);
    }));
    assert.ok(members[0].length > 1, 'several examples share a packed row');
    const shot = join(out, 'studio-data-packed.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshots: ${join(out, 'studio-data.png')}, ${shot}`);
  });
});
