import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { ConfigError, type Config } from "../config.js";
import { createSecretBox, ephemeralSecretBox, MAIN_KEY_BYTES, type SecretBox } from "./secret-box.js";

/** The file embedded mode keeps its generated main key in, inside the data folder. */
export const MAIN_KEY_FILE = "hookline-main-secret";

/**
 * The secret box for this process. A configured `HOOKLINE_MAIN_SECRET` wins.
 * Embedded mode without one reads — or on first start creates, owner-only
 * (0600) — `<data dir>/hookline-main-secret` and logs where; a `memory://`
 * database gets a key that lives as long as it does. PostgreSQL mode without
 * a key never gets here (`loadConfig` refuses it).
 *
 * @throws ConfigError when the key file exists but does not hold a valid key.
 */
export async function resolveSecretBox(config: Config, logger: Logger): Promise<SecretBox> {
  if (config.mainSecret) return createSecretBox(config.mainSecret, config.mainSecretPrevious);
  if (config.databaseUrl) throw new ConfigError(["HOOKLINE_MAIN_SECRET: required with DATABASE_URL"]);
  if (config.dataDir.startsWith("memory://")) return ephemeralSecretBox();
  const file = join(config.dataDir, MAIN_KEY_FILE);
  let encoded: string;
  try {
    encoded = (await readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    encoded = randomBytes(MAIN_KEY_BYTES).toString("base64");
    await mkdir(config.dataDir, { recursive: true });
    // `wx`: never overwrite a key another process wrote a moment ago.
    await writeFile(file, `${encoded}\n`, { mode: 0o600, flag: "wx" });
    logger.warn({ file }, "created a main key for signing secrets; back it up apart from the data (or set HOOKLINE_MAIN_SECRET)");
  }
  const key = Buffer.from(encoded, "base64");
  if (key.length !== MAIN_KEY_BYTES) throw new ConfigError([`HOOKLINE_MAIN_SECRET: the key file ${file} does not hold ${MAIN_KEY_BYTES} bytes of base64`]);
  return createSecretBox(key, config.mainSecretPrevious);
}
