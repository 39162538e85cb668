/** A domain rule was broken by the input; `field` names the offending input field. Maps to 400. */
export class ValidationError extends Error {
  override name = "ValidationError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The thing asked for does not exist. Maps to 404. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
  constructor(what: string, id: number | string) {
    super(`${what} ${id} not found`);
  }
}

/** The change conflicts with existing data (duplicate name, in-use state). Maps to 409. */
export class ConflictError extends Error {
  override name = "ConflictError";
}
