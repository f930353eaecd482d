// What /healthz answers: is this process connected to Discord's gateway, and does storage answer?
import type { Storage } from '../storage/index.js';
import { within } from './within.js';

/** The gateway as main.ts sees it (from discord.js's shard status). */
export interface GatewayState {
  connected: boolean;
  /** Why not, for the operator ("shard 0 is reconnecting"). */
  reason?: string;
}

export interface HealthReport {
  ok: boolean;
  gateway: 'connected' | 'down';
  storage: 'ok' | 'down';
  /** Every reason the process is not healthy; empty when it is. */
  reasons: string[];
}

export interface HealthDeps {
  gateway(): GatewayState;
  storage: Pick<Storage, 'get' | 'kind'>;
  /** True once the process is shutting down: it is not healthy any more, whatever the rest says. */
  stopping?: () => boolean;
  /** How long storage may take to answer, ms. Default 2000. */
  storageTimeoutMs?: number;
}

/** A read of a key nobody writes: proves the store answers without touching anything. */
const PROBE_KEY = 'health:probe';

export async function checkHealth(deps: HealthDeps): Promise<HealthReport> {
  const reasons: string[] = [];
  if (deps.stopping?.()) reasons.push('the bot is shutting down');
  const gateway = deps.gateway();
  if (!gateway.connected) reasons.push(`Discord gateway not connected: ${gateway.reason ?? 'unknown state'}`);
  const storageProblem = await probeStorage(deps.storage, deps.storageTimeoutMs ?? 2000);
  if (storageProblem) reasons.push(`storage (${deps.storage.kind}) ${storageProblem}`);
  return { ok: reasons.length === 0, gateway: gateway.connected ? 'connected' : 'down', storage: storageProblem ? 'down' : 'ok', reasons };
}

async function probeStorage(storage: Pick<Storage, 'get'>, timeoutMs: number): Promise<string | undefined> {
  try {
    return (await within(storage.get(PROBE_KEY), timeoutMs)) === 'timeout' ? `did not answer within ${timeoutMs} ms` : undefined;
  } catch (err) {
    return `failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}
