import { randomBytes } from "node:crypto";
import { cachedOpener, createSecretBox } from "@hookline/server";
import type { BenchConfig } from "../config.js";
import { ratioRow, type BenchRow } from "../report.js";
import { benchBody, newSecret, signedHeaders } from "../signed-request.js";

/**
 * What encrypting signing secrets at rest costs the worker per delivery: one
 * AES-256-GCM open of the claimed row's secret per claimed row, against the
 * per-hook cache the worker uses (`cachedOpener`), both beside the signing
 * every delivery does anyway.
 * In-process, no I/O: the delivery scenario's latency and drain include it.
 */
export async function secretsScenario(config: BenchConfig): Promise<BenchRow[]> {
  const hooks = 1000;
  const box = createSecretBox(randomBytes(32));
  const sealed = Array.from({ length: hooks }, (_, id) => box.seal(id, newSecret()));
  const secrets = sealed.map((value, id) => box.open(id, value));
  const body = benchBody(1);
  const seconds = config.quick ? 0.5 : 3;

  const open = opsPerSecond(seconds, (i) => box.open(i % hooks, sealed[i % hooks]!));
  const openCached = cachedOpener(box);
  const cached = opsPerSecond(seconds, (i) => openCached(i % hooks, sealed[i % hooks]!));
  const sign = opsPerSecond(seconds, (i) => signedHeaders(secrets[i % hooks]!, `msg_${i}`, body));

  const rows: BenchRow[] = [
    { scenario: "secrets", name: "AES-256-GCM open per claimed row", value: Math.round(open), unit: "ops/s" },
    { scenario: "secrets", name: "opened secret cached per hook", value: Math.round(cached), unit: "ops/s" },
    { scenario: "secrets", name: "sign one 500-byte delivery (anchor)", value: Math.round(sign), unit: "ops/s" },
  ];
  rows.push(ratioRow("secrets", "open per row / sign", rows[0], rows[2], "≥ 1: opening costs less than signing"));
  rows.push(ratioRow("secrets", "cached open / sign", rows[1], rows[2], "≥ 1: opening costs less than signing"));
  return rows;
}

function opsPerSecond(seconds: number, work: (i: number) => unknown): number {
  for (let i = 0; i < 2000; i++) work(i); // warm-up
  const deadline = performance.now() + seconds * 1000;
  let i = 0;
  const started = performance.now();
  while (performance.now() < deadline) for (let j = 0; j < 500; j++) work(i++);
  return i / ((performance.now() - started) / 1000);
}
