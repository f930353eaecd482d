// `npm run playground:screenshot`: redraws docs/playground-light.png and docs/playground-dark.png, the README's
// pictures of the playground, with the same headless Chromium the browser test uses (Debian's /usr/bin/chromium).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT } from '../fakes/world.js';
import { startPlayground } from './server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const profile = mkdtempSync(join(tmpdir(), 'playground-shot-'));
const playground = await startPlayground({
  fakeLumaTiming: { queuedMs: 300, processingMs: 1500 },
  botEnv: { POLL_INTERVAL_MS: '200', PROGRESS_INTERVAL_MS: '300' },
});
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.goto(playground.url);
  await page.locator('#connection', { hasText: 'live' }).waitFor();
  const box = page.locator('#composer-input');
  const send = async (text: string) => {
    await box.fill(text);
    await box.press('Escape');
    await box.press('Enter');
  };
  await send('/imagine prompt: a lighthouse on a cliff at dusk aspect_ratio: 16:9 count: 2');
  await page.locator('.v2-container', { hasText: 'Imagined image · 2 of 2 ready' }).waitFor({ timeout: 30_000 });
  // A job still running, so the picture shows the live progress too.
  await page.getByRole('button', { name: /Slow job/ }).click();
  await page.getByLabel(/Sam/).check();
  await send('/imagine prompt: a fox curled up in fresh snow');
  await page.locator('.message', { hasText: /Generating…/ }).waitFor({ timeout: 30_000 });
  await page.getByLabel(/Alex/).check();
  await box.fill('');
  await box.pressSequentially('/imagine prompt: a paper boat on a pond');
  await page.locator('#messages').evaluate((list) => list.scrollTo(0, list.scrollHeight));
  await page.mouse.move(0, 0);
  const docs = join(ROOT, 'docs');
  mkdirSync(docs, { recursive: true });
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await box.focus();
    await page.screenshot({ path: join(docs, `playground-${scheme}.png`) });
    console.log(`wrote docs/playground-${scheme}.png`);
  }
} finally {
  await browser.close();
  await playground.close();
  rmSync(profile, { recursive: true, force: true });
}
