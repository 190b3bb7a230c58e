/**
 * Replaces every local `$ref` ("#/components/…") in `node` by a copy of what it
 * points to, so a schema can be used on its own (by ajv, or in an answer).
 * Recursive schemas would not terminate; the spec has none, and a cycle is
 * reported rather than looped on.
 */
export function inlineLocalRefs<T>(node: T, root: unknown, seen: string[] = []): T {
  if (Array.isArray(node)) return node.map((item) => inlineLocalRefs(item, root, seen)) as T;
  if (!node || typeof node !== "object") return node;
  const record = node as Record<string, unknown>;
  const ref = record.$ref;
  if (typeof ref === "string" && ref.startsWith("#/")) {
    if (seen.includes(ref)) throw new Error(`Circular $ref ${ref}`);
    const { $ref: _, ...siblings } = record;
    const target = inlineLocalRefs(resolvePointer(root, ref), root, [...seen, ref]);
    return (Object.keys(siblings).length ? { ...(target as object), ...inlineLocalRefs(siblings, root, seen) } : target) as T;
  }
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, inlineLocalRefs(value, root, seen)])) as T;
}

function resolvePointer(root: unknown, ref: string): unknown {
  let current: unknown = root;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (!current || typeof current !== "object" || !(key in current)) throw new Error(`Unresolvable $ref ${ref}`);
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
