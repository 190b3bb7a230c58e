import { sql, type RawBuilder } from "kysely";

/**
 * `column = accountId`, for a listing that pages through one account's rows
 * in id order through an index led by the account (`(account_id, id)`).
 *
 * The statement is prepared, and after five executions PostgreSQL may keep
 * a generic plan, which estimates `account_id = $1` as 1/(number of
 * accounts) of the table whatever the account. With a handful of accounts
 * that is a sixth or a half of the table, and walking the primary key in id
 * order and dropping other accounts' rows looked as cheap as the account's
 * index: a small account's page of hooks read all 10,000 hooks of another
 * account, a page of events (`id < $before`) 60,000 events (issue 25's
 * noisy-neighbour kind). The same account as a one-value range as well is
 * estimated at a fraction of a percent by any plan (PostgreSQL's default
 * for a range between parameters), so the account's index wins in every
 * plan; the equality stays, so the account's composite indexes are still
 * entered at the account and the next column together. The custom plans,
 * which see the value, estimate both from the account's own statistics.
 *
 * @example
 * db.selectFrom("hooks").selectAll().where(ofAccount("account_id", accountId)).orderBy("id").limit(50)
 */
export function ofAccount(column: string, accountId: string): RawBuilder<boolean> {
  const ref = sql.ref(column);
  return sql<boolean>`(${ref} = ${accountId} and ${ref} between ${accountId} and ${accountId})`;
}
