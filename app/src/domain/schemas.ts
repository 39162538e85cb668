import { z } from "zod";

/** Input schemas shared by the JSON API and the server-rendered pages. */

const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: "must be a date like 2026-01-31" })
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), {
    error: "is not a real calendar date",
  });
const id = z.coerce
  .number({ error: "must be a positive integer" })
  .int({ error: "must be a positive integer" })
  .positive({ error: "must be a positive integer" });
const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, { error: "must be a color like #2f6fdb" });

/** A state of an entry type. */
export const stateInput = z.strictObject({
  name: z.string().trim().min(1, { error: "is required" }).max(60, { error: "must be at most 60 characters" }),
  color,
  open: z.boolean({ error: "must be true or false" }),
});

/** New entry type with its states (the first open state is the default for new entries). */
export const entryTypeCreate = z.strictObject({
  key: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, { error: "must be 1-40 lowercase letters, digits or dashes, starting with a letter" }),
  singular: z.string().trim().min(1, { error: "is required" }).max(60, { error: "must be at most 60 characters" }),
  plural: z.string().trim().min(1, { error: "is required" }).max(60, { error: "must be at most 60 characters" }),
  states: z.array(stateInput).min(1, { error: "needs at least one state" }).max(30, { error: "at most 30 states" }),
});

/** Change of an entry type's labels or its default state. */
export const entryTypeUpdate = entryTypeCreate.pick({ singular: true, plural: true }).partial().extend({ defaultStateId: id.optional() });

/** Moving a state one place in its type's order. */
export const stateMove = z.strictObject({ direction: z.enum(["up", "down"], { error: "must be up or down" }) });

/** Change of a state. */
export const stateUpdate = stateInput.partial();

/** New entry. `stateId` defaults to the type's first open state. */
export const entryCreate = z.strictObject({
  typeId: id,
  stateId: id.optional(),
  title: z.string().trim().min(1, { error: "is required" }).max(200, { error: "must be at most 200 characters" }),
  description: z.string().max(20_000, { error: "must be at most 20000 characters" }).default(""),
  plannedEnd: date.nullable().optional(),
  actualEnd: date.nullable().optional(),
});

/** Change of an entry; archive with `{archived: true}`. */
export const entryUpdate = z.strictObject({
  stateId: id.optional(),
  title: entryCreate.shape.title.optional(),
  description: z.string().max(20_000, { error: "must be at most 20000 characters" }).optional(),
  plannedEnd: date.nullable().optional(),
  actualEnd: date.nullable().optional(),
  archived: z.boolean({ error: "must be true or false" }).optional(),
});

const boolParam = z.enum(["true", "false", "all"], { error: "must be true, false or all" });

/** Query of the entry list: full-text `q`, filters and paging. */
export const entryQuery = z.strictObject({
  q: z.string().max(200, { error: "must be at most 200 characters" }).optional(),
  type: id.optional(),
  state: id.optional(),
  open: z.enum(["true", "false"], { error: "must be true or false" }).optional(),
  archived: boolParam.default("false"),
  limit: z.coerce
    .number({ error: "must be an integer from 1 to 100" })
    .int({ error: "must be an integer from 1 to 100" })
    .min(1, { error: "must be an integer from 1 to 100" })
    .max(100, { error: "must be an integer from 1 to 100" })
    .default(20),
  offset: z.coerce
    .number({ error: "must be a non-negative integer" })
    .int({ error: "must be a non-negative integer" })
    .min(0, { error: "must be a non-negative integer" })
    .default(0),
});

/** A note's body. */
export const noteInput = z.strictObject({
  body: z.string().trim().min(1, { error: "is required" }).max(20_000, { error: "must be at most 20000 characters" }),
});

const kind = z.string().regex(/^[a-z][a-z0-9 -]{0,39}$/, { error: "must be 1-40 lowercase letters, digits, spaces or dashes (e.g. uses)" });

/** How many entries each side of a relationship definition may have. */
export const CARDINALITIES = ["one-to-one", "one-to-many", "many-to-one", "many-to-many"] as const;

/**
 * A relationship definition: entries of `fromTypeId` link to entries of `toTypeId`; `label` reads
 * from the from-side (batch "uses" recipe), `reverseLabel` from the to-side (recipe "used by" batch).
 * `many-to-one`: many from-entries may link to one to-entry, and each from-entry to at most one.
 */
export const relationshipTypeCreate = z.strictObject({
  fromTypeId: id,
  toTypeId: id,
  label: kind,
  reverseLabel: kind,
  cardinality: z.enum(CARDINALITIES, { error: `must be one of ${CARDINALITIES.join(", ")}` }),
});

/** Change of a relationship definition's labels or cardinality (its types are fixed). */
export const relationshipTypeUpdate = relationshipTypeCreate.pick({ label: true, reverseLabel: true, cardinality: true }).partial();

/**
 * A relationship from one entry to another: through a definition (`typeId`, the kind is its
 * label), or with a free-form `kind`, e.g. batch `uses` recipe.
 */
export const relationshipCreate = z
  .strictObject({ kind: kind.optional(), typeId: id.optional(), toEntryId: id })
  .refine((v) => (v.kind === undefined) !== (v.typeId === undefined), { error: "give either kind or typeId", path: ["kind"] });

/** Path parameter `:id`. */
export const idParams = z.strictObject({ id });

/** Types inferred from the schemas. */
export type EntryTypeCreate = z.infer<typeof entryTypeCreate>;
export type EntryCreate = z.infer<typeof entryCreate>;
export type EntryUpdate = z.infer<typeof entryUpdate>;
export type EntryQuery = z.infer<typeof entryQuery>;
export type StateInput = z.infer<typeof stateInput>;
export type EntryTypeUpdate = z.infer<typeof entryTypeUpdate>;
export type RelationshipTypeCreate = z.infer<typeof relationshipTypeCreate>;
export type RelationshipTypeUpdate = z.infer<typeof relationshipTypeUpdate>;
export type Cardinality = (typeof CARDINALITIES)[number];
