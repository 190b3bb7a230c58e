// `pnpm bench [delivery|api|receiver|fairness|secrets|footprint]`: runs the chosen scenarios (all by
// default) and prints one table of figures and "Hookline / anchor" ratios.
import { killAllChildren } from "./child-process.js";
import { readConfig, type BenchConfig } from "./config.js";
import { dropAllScratchDbs } from "./scratch-db.js";
import { formatTable, oneLine, unavailableRow, type BenchRow } from "./report.js";
import { apiScenario } from "./scenarios/api.js";
import { deliveryScenario } from "./scenarios/delivery.js";
import { footprintScenario } from "./scenarios/footprint.js";
import { fairnessScenario } from "./scenarios/fairness.js";
import { receiverScenario } from "./scenarios/receiver.js";
import { secretsScenario } from "./scenarios/secrets.js";

const scenarios: Record<string, (config: BenchConfig) => Promise<BenchRow[]>> = {
  receiver: receiverScenario,
  api: apiScenario,
  delivery: deliveryScenario,
  footprint: footprintScenario,
  fairness: fairnessScenario,
  secrets: secretsScenario,
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => a !== "--");
  const unknown = wanted.filter((name) => !(name in scenarios));
  if (unknown.length > 0) {
    console.error(`Unknown scenario ${unknown.join(", ")}; choose from ${Object.keys(scenarios).join(", ")} (none = all).`);
    process.exit(2);
  }
  const config = readConfig(process.env);
  const names = wanted.length > 0 ? wanted : Object.keys(scenarios);
  console.log(`Hookline bench: ${names.join(", ")}${config.quick ? " (quick)" : ""}; PostgreSQL ${new URL(config.adminUrl).host}`);
  const rows: BenchRow[] = [];
  for (const name of names) {
    const started = Date.now();
    try {
      rows.push(...(await scenarios[name]!(config)));
    } catch (error) {
      rows.push(unavailableRow(name, "scenario failed", oneLine(error)));
    }
    console.log(`… ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  console.log(`\n${formatTable(rows)}`);
  if (config.quick) console.log("\nQuick mode: a smoke run. Runs this short are dominated by warm-up; compare default runs only.");
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAllChildren();
    void dropAllScratchDbs().finally(() => process.exit(130));
  });
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => {
    killAllChildren();
    // Pools and keep-alive agents would otherwise hold the process open.
    process.exit();
  });
