// Stopping the engine (what SIGTERM does, test/e2e/failures.test.ts): running steps get a grace period, on the
// engine's clock; a step that hangs past it is cut short without turning into a failure, and the next start resumes
// the job. The engine alone (test/helpers/engine-world.ts: a manual clock, the fake Luma on the same clock).
import { afterEach, describe, expect, it } from 'vitest';
import { startEngineWorld, type EngineWorld } from '../helpers/engine-world.js';
import { waitUntil } from '../helpers/wait.js';

describe('stopping the engine', () => {
  let w: EngineWorld | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('cuts a poll that hangs past the grace period, fails nothing, and the next start resumes the job', async () => {
    w = await startEngineWorld({ config: { pollIntervalMs: 200 } });
    const world = w;
    world.luma.planNext({ hold: true });
    const job = await world.submit('700000000000000401', 'hung poll: a tower');
    await world.run(1500);
    const id = world.luma.generations()[0]?.id ?? '';
    expect(world.luma.generations()[0]?.state).toBe('processing');

    // The next poll never gets an answer.
    world.luma.fault({ method: 'GET', path: `/v1/generations/${id}`, exact: true }, { hang: true });
    await world.clock.advance(200);
    await waitUntil(() => world.luma.requests.some((r) => r.fault !== undefined), 'the hanging poll');

    let stopped = false;
    const stopping = world.engine.stop(6000).then(() => (stopped = true));
    await world.clock.advance(5900);
    expect(stopped).toBe(false);
    expect(world.lines.some((l) => String(l.msg).startsWith('cutting running job steps short'))).toBe(false);
    await world.clock.advance(100);
    await waitUntil(() => world.lines.some((l) => String(l.msg).startsWith('cutting running job steps short')), 'the hanging step cut');
    await world.clock.advance(1500);
    await stopping;
    // Cut short by the shutdown: not a failure; the record waits at Luma for the next start.
    expect(world.lines.some((l) => l.msg === 'job failed')).toBe(false);
    expect(world.deliver.of(job.id).failure).toBeUndefined();
    expect((await world.records.get(job.id))?.step).toBe('polling');

    await world.startAgain();
    world.luma.release(id);
    await world.run(2000);
    expect(world.deliver.of(job.id).result).toBeDefined();
    expect(world.luma.posts()).toHaveLength(1);
  });
});
