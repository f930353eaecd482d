import { it } from 'vitest';
import { opt, startHarness } from '../helpers/harness.js';
it('debug', async () => {
  const h = await startHarness({ env: { QUOTA_DEFAULT_LIMIT: '5' }, discord: { guilds: [{ id: '1200000000000000001', name: 'Q', roles: [{ id: '1250000000000000001', name: 'S', permissions: '0' }] }] } });
  try {
    const i = await h.discord.slashCommand({ name: 'imagine', user: { id: '500000000000000001', username: 'a' }, options: [opt.string('prompt', 'x')] });
    await new Promise((r) => setTimeout(r, 3000));
    console.log(JSON.stringify(h.discord.edits(i.token).map(e=>e.json)).slice(0,1500));
    for (const l of h.logs.lines) console.log(l.level, l.msg, JSON.stringify(l).slice(0, 300));
  } finally { await h.close(); }
});
