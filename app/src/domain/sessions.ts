import { randomBytes } from "node:crypto";
import { stmt } from "../db";
import type { DbSource } from "./entry-types";

/**
 * Login sessions stored in the database. The cookie carries the session id (signed, see
 * src/auth.ts); a session is valid only while its row exists, so logout ends it server-side.
 */
export class SessionRepository {
  constructor(private readonly db: DbSource) {}

  /** Starts a session that expires at `expiresAt` (unix seconds); drops expired rows. Returns its id. */
  create(expiresAt: number, now = Date.now()): string {
    const db = this.db();
    stmt(db, "DELETE FROM sessions WHERE expires_at < ?").run(Math.floor(now / 1000));
    const id = randomBytes(18).toString("base64url");
    stmt(db, "INSERT INTO sessions (id, created_at, expires_at) VALUES (?, ?, ?)").run(id, new Date(now).toISOString(), expiresAt);
    return id;
  }

  /** True while the session exists and has not expired. */
  isActive(id: string, now = Date.now()): boolean {
    return stmt(this.db(), "SELECT 1 FROM sessions WHERE id = ? AND expires_at >= ?").get(id, Math.floor(now / 1000)) !== undefined;
  }

  /** Ends a session (no-op when it does not exist). */
  revoke(id: string): void {
    stmt(this.db(), "DELETE FROM sessions WHERE id = ?").run(id);
  }

  /** Ends every session (after a restore, which brings back the sessions of the backup). */
  revokeAll(): void {
    stmt(this.db(), "DELETE FROM sessions").run();
  }
}
