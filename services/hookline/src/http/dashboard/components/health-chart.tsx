/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { HealthBucket, LastFailure } from "../../../store/hook-health.js";
import type { HookRow } from "../../../store/schema.js";
import { Time } from "./common.js";

const HOURS = 24;
const BAR = 12;
const HEIGHT = 64;

/** Success rate (whole percent) and mean latency (ms) over the buckets; undefined without attempts. */
export function healthSummary(buckets: HealthBucket[]): { attempts: number; succeeded: number; rate: number; avgMs: number } | undefined {
  const attempts = buckets.reduce((n, b) => n + b.attempts, 0);
  if (attempts === 0) return undefined;
  const succeeded = buckets.reduce((n, b) => n + b.succeeded, 0);
  const avgMs = buckets.reduce((n, b) => n + (b.avgMs ?? 0) * b.attempts, 0) / attempts;
  return { attempts, succeeded, rate: Math.floor((succeeded / attempts) * 100), avgMs: Math.round(avgMs) };
}

/**
 * The last 24 hours as an inline SVG drawn on the server (no script): a bar
 * per hour, its height the attempts, green the successes and red the
 * failures, and a line for the mean latency. Colours come from the
 * stylesheet (classes), as the CSP allows no inline style.
 */
export function HealthChart(props: { buckets: HealthBucket[]; now?: Date }) {
  const now = props.now ?? new Date();
  const firstHour = Math.floor(now.getTime() / 3_600_000) - (HOURS - 1);
  const slots = Array.from({ length: HOURS }, (_, i) => props.buckets.find((b) => Math.floor(b.hour.getTime() / 3_600_000) === firstHour + i));
  const maxAttempts = Math.max(1, ...slots.map((s) => s?.attempts ?? 0));
  const maxMs = Math.max(1, ...slots.map((s) => s?.avgMs ?? 0));
  const y = (n: number) => HEIGHT - (n / maxAttempts) * HEIGHT;
  const latency = slots
    .map((s, i) => (s?.avgMs == null ? undefined : `${i * BAR + BAR / 2},${(HEIGHT - (s.avgMs / maxMs) * (HEIGHT - 4)).toFixed(1)}`))
    .filter(Boolean)
    .join(" ");
  const summary = healthSummary(props.buckets);
  return (
    <svg class="health-chart" viewBox={`0 0 ${HOURS * BAR} ${HEIGHT}`} role="img" aria-labelledby="health-title" preserveAspectRatio="none">
      <title id="health-title">
        {summary ? `Last 24 h: ${summary.rate}% of ${summary.attempts} attempts succeeded, mean latency ${summary.avgMs} ms` : "No attempts in the last 24 h"}
      </title>
      <line class="axis" x1="0" y1={HEIGHT - 0.5} x2={HOURS * BAR} y2={HEIGHT - 0.5} />
      {slots.map((s, i) =>
        s ? (
          <g>
            <rect class="ok" x={i * BAR + 1} y={y(s.succeeded)} width={BAR - 2} height={HEIGHT - y(s.succeeded)} />
            <rect class="bad" x={i * BAR + 1} y={y(s.attempts)} width={BAR - 2} height={y(s.succeeded) - y(s.attempts)} />
          </g>
        ) : null,
      )}
      {latency && <polyline class="latency" points={latency} />}
    </svg>
  );
}

/**
 * A hook's health: success rate and latency over 24 h (chart and words), its
 * last failure, and its circuit breaker (open once `consecutive_failures`
 * reaches HOOKLINE_BREAKER_THRESHOLD: one probe at a time, spaced by `not_before`).
 */
export function HealthPanel(props: { hook: HookRow; buckets: HealthBucket[]; lastFailure: LastFailure | undefined; breakerThreshold: number; base: string }) {
  const { hook } = props;
  const summary = healthSummary(props.buckets);
  const open = hook.consecutive_failures >= props.breakerThreshold;
  return (
    <section aria-labelledby="health-heading" class="health">
      <h2 id="health-heading">Health, last 24 h</h2>
      <HealthChart buckets={props.buckets} />
      <dl class="facts">
        <dt>Success rate</dt>
        <dd id="success-rate">{summary ? `${summary.rate}% (${summary.succeeded} of ${summary.attempts} attempts)` : "No attempts"}</dd>
        <dt>Mean latency</dt><dd>{summary ? `${summary.avgMs} ms` : "—"}</dd>
        <dt>Last failure</dt>
        <dd>
          {props.lastFailure ? (
            <>
              <Time at={props.lastFailure.attemptedAt} />{" "}
              <a href={`${props.base}/deliveries/${props.lastFailure.deliveryId}`}>
                {props.lastFailure.responseStatus ? `HTTP ${props.lastFailure.responseStatus}` : (props.lastFailure.error ?? "failed")}
              </a>
            </>
          ) : (
            "None"
          )}
        </dd>
        <dt>Circuit breaker</dt>
        <dd id="breaker">
          {open ? (
            <><span class="badge failed">open</span> {`${hook.consecutive_failures} failures in a row; one probe at a time`}{hook.not_before && <>, next <Time at={hook.not_before} /></>}</>
          ) : (
            <><span class="badge active">closed</span>{hook.consecutive_failures > 0 && ` ${hook.consecutive_failures} failure(s) in a row`}</>
          )}
        </dd>
      </dl>
    </section>
  );
}
