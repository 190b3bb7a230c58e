/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { ProblemError } from "../../problem.js";
import { PROBLEM_KINDS } from "../../problem.js";
import { Layout, Problems, type PageSession } from "../layout.js";
import { DASHBOARD_PATH } from "../session.js";

/** An error as a page: the same title, detail and field errors the API's problem+json carries. */
export function ProblemPage(props: { problem: ProblemError; session?: PageSession | undefined }) {
  const { problem } = props;
  return (
    <Layout title={PROBLEM_KINDS[problem.kind].title} session={props.session}>
      <Problems detail={problem.detail ?? problem.message} errors={problem.errors} />
      <p>
        {problem.kind === "unauthorized" && !props.session ? <a href={`${DASHBOARD_PATH}/sign-in`}>Sign in</a> : <a href={`${props.session?.base ?? DASHBOARD_PATH}/hooks`}>Back to your hooks</a>}
      </p>
    </Layout>
  );
}
