// `pnpm bench [delivery|api|receiver|large|fairness|secrets|footprint]`: runs the chosen scenarios (all by
// default) and prints one table of figures and "Hookline / anchor" ratios.
import { killAllChildren } from "./child-process.js";
import { readConfig, type BenchConfig } from "./config.js";
import { dropAllScratchDbs } from "./scratch-db.js";
import { formatTable, oneLine, summarize, unavailableRow, type BenchRow } from "./report.js";
import { apiScenario } from "./scenarios/api.js";
import { deliveryScenario } from "./scenarios/delivery.js";
import { largeTablesScenario } from "./scenarios/large-tables.js";
import { footprintScenario } from "./scenarios/footprint.js";
import { fairnessScenario } from "./scenarios/fairness.js";
import { receiverScenario } from "./scenarios/receiver.js";
import { secretsScenario } from "./scenarios/secrets.js";

const scenarios: Record<string, (config: BenchConfig) => Promise<BenchRow[]>> = {
  receiver: receiverScenario,
  api: apiScenario,
  delivery: deliveryScenario,
  large: largeTablesScenario,
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
  console.log(
    `Hookline bench: ${names.join(", ")}${config.quick ? " (quick)" : ""}; ${config.repeat} repetition(s); PostgreSQL ${new URL(config.adminUrl).host}`,
  );
  // Repetitions are whole passes over the scenarios, so a slow minute of a
  // shared machine spreads over every figure instead of skewing one.
  const runs: BenchRow[][] = [];
  for (let rep = 1; rep <= config.repeat; rep++) {
    const rows: BenchRow[] = [];
    for (const name of names) {
      const started = Date.now();
      try {
        rows.push(...(await scenarios[name]!(config)));
      } catch (error) {
        rows.push(unavailableRow(name, "scenario failed", oneLine(error)));
      }
      console.log(`… ${name} (${rep}/${config.repeat}) done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    runs.push(rows);
  }
  console.log(`\n${formatTable(summarize(runs))}`);
  if (config.repeat > 1) console.log("\nvalue: median over the repetitions; spread: (max − min) / median, with how many had a figure.");
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
