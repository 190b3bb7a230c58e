/** The account a request acts for, as authenticated by its API key. Every domain call is scoped to one. */
export interface AuthenticatedAccount {
  id: string;
  name: string;
}
