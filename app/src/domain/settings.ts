import { z } from "zod";
import { stmt } from "../db";
import type { DbSource } from "./entry-types";

/** Themes the pages know. */
export const THEMES = ["light", "dark", "forest", "ocean", "amber"] as const;

const label = z.string().trim().min(1, { error: "is required" }).max(40, { error: "must be at most 40 characters" });

/**
 * Instance settings. A strict schema with only display fields: nothing secret can be stored here,
 * and unknown keys are rejected.
 */
export const settingsSchema = z.strictObject({
  title: z.string().trim().min(1, { error: "is required" }).max(100, { error: "must be at most 100 characters" }),
  subtitle: z.string().trim().max(200, { error: "must be at most 200 characters" }),
  theme: z.enum(THEMES, { error: `must be one of ${THEMES.join(", ")}` }),
  labels: z.strictObject({
    entry: label,
    entries: label,
    note: label,
    notes: label,
    attachments: label,
  }),
});

/** The instance's settings. */
export type Settings = z.infer<typeof settingsSchema>;

/** A change of settings: any subset of fields (labels may be partial). */
export const settingsPatch = settingsSchema
  .omit({ labels: true })
  .partial()
  .extend({ labels: settingsSchema.shape.labels.partial().optional() });

/** Defaults in code; the title defaults to APP_TITLE. */
export function defaultSettings(appTitle: string): Settings {
  return {
    title: appTitle || "Fleet",
    subtitle: "",
    theme: "light",
    labels: { entry: "Entry", entries: "Entries", note: "Note", notes: "Notes", attachments: "Attachments" },
  };
}

/** Settings stored in the `settings` table (one JSON value per top-level key) over the code defaults. */
export class SettingsRepository {
  constructor(
    private readonly db: DbSource,
    private readonly defaults: Settings,
  ) {}

  /** Current settings: stored values over defaults. Stored values that no longer validate fall back to defaults. */
  get(): Settings {
    const rows = stmt(this.db(), "SELECT key, value FROM settings").all() as { key: string; value: string }[];
    const stored: Record<string, unknown> = {};
    for (const r of rows) {
      try {
        stored[r.key] = JSON.parse(r.value);
      } catch {
        // a bad stored value is ignored; the default applies
      }
    }
    const merged = {
      ...this.defaults,
      ...stored,
      labels: { ...this.defaults.labels, ...(typeof stored.labels === "object" ? stored.labels : {}) },
    };
    const parsed = settingsSchema.safeParse(merged);
    return parsed.success ? parsed.data : this.defaults;
  }

  /** Applies a validated patch and returns the result. */
  update(patch: z.infer<typeof settingsPatch>): Settings {
    const cur = this.get();
    const next = settingsSchema.parse({ ...cur, ...patch, labels: { ...cur.labels, ...(patch.labels ?? {}) } });
    const db = this.db();
    const put = stmt(
      db,
      "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    );
    const now = new Date().toISOString();
    db.transaction(() => {
      for (const key of Object.keys(patch) as (keyof Settings)[]) {
        if (patch[key] !== undefined) put.run(key, JSON.stringify(next[key]), now);
      }
    })();
    return this.get();
  }
}
