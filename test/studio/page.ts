// The studio's browser tests share this: Debian's chromium driven by playwright-core (no download),
// a studio on a free port, one page that must raise no page errors, everything closed afterwards.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Page } from 'playwright-core';
import { startStudio } from '../../src/serve/studio/server.js';

export const CHROMIUM = '/usr/bin/chromium';
/** The tests' skip reason where the system browser is missing (`.ci/run` installs it). */
export const skipWithoutBrowser = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install -y chromium); the studio's browser test needs it`;

type Studio = Awaited<ReturnType<typeof startStudio>>;

/** Starts a studio, opens its page at 1280 x height, runs body, then checks the page raised no errors. */
export async function withStudioPage(opts: Parameters<typeof startStudio>[0], height: number, body: (page: Page, studio: Studio) => Promise<void>): Promise<void> {
  const studio = await startStudio(opts);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(studio.url);
    await body(page, studio);
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
    await studio.close();
  }
}
