// `npm run usage -- --month 2026-12 [--out file.csv]`: a month's use by server and member as CSV, from the bot's
// storage (STORAGE_URL, STORAGE_NAMESPACE): `day,server_id,member_id,model,units,usd,requests`. No Discord token or
// Luma key needed. A server's lines add up to its /quota-admin usage CSV and to the spend counters.
import { writeFile } from 'node:fs/promises';
import { loadConfigOrExit } from './config.js';
import { createLogger } from './logger.js';
import { daysOfMonth, monthCsv } from './quota/spend-report.js';
import { UsageLedger } from './quota/usage.js';
import { connectStorage, StartupError } from './startup.js';
import type { Storage } from './storage/index.js';

/** The month's CSV from a storage, and its totals (for the summary line). */
export async function usageForMonth(storage: Storage, month: string, now: number): Promise<{ csv: string; lines: number; units: number; usd: number }> {
  const csv = await monthCsv(new UsageLedger(storage), daysOfMonth(month, now));
  const rows = csv.trim().split('\r\n').slice(1).map((l) => l.split(','));
  return { csv, lines: rows.length, units: rows.reduce((sum, r) => sum + Number(r[4]), 0), usd: rows.reduce((sum, r) => sum + Number(r[5]), 0) };
}

/** `--month YYYY-MM` (default: this month) and `--out path` (default: standard output). */
export function parseUsageArgs(argv: readonly string[], now: number): { month: string; out: string | undefined } {
  let month = new Date(now).toISOString().slice(0, 7);
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = (argv[i] ?? '').split('=', 2);
    const value = inline ?? argv[++i];
    if (flag === '--month' && value !== undefined && /^\d{4}-(0[1-9]|1[0-2])$/.test(value)) month = value;
    else if (flag === '--out' && value) out = value;
    else throw new Error(`usage: npm run usage -- [--month YYYY-MM] [--out file.csv] (got "${argv.join(' ')}")`);
  }
  return { month, out };
}

async function main(): Promise<void> {
  const { month, out } = parseUsageArgs(process.argv.slice(2), Date.now());
  const config = await loadConfigOrExit('usage');
  const logger = createLogger({ ...config, logLevel: 'warn' });
  const storage = await connectStorage(config.storageUrl, logger, { busyTimeoutMs: config.storageBusyTimeoutMs, namespace: config.storageNamespace });
  try {
    const report = await usageForMonth(storage, month, Date.now());
    if (out) await writeFile(out, report.csv);
    else process.stdout.write(report.csv);
    process.stderr.write(`${month}: ${report.lines} lines, ${report.units} units, $${report.usd.toFixed(4)} at Luma's prices${out ? `, written to ${out}` : ''}.\n`);
  } finally {
    await storage.close();
  }
}

// Run only as a script, so tests can import the report.
if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof StartupError ? 'Cannot read usage: ' : ''}${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof StartupError ? 78 : 1);
  });
}
