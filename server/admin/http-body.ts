/**
 * Request bodies of the admin API: bounded, JSON only, and validated field by field with
 * messages that name the field, what was wrong and what is accepted (STYLE.md "Errors").
 */
import type { IncomingMessage } from 'node:http';
import { invalid } from '../core/errors.js';
import { HttpRefusal } from './http-errors.js';

/** Every admin request fits easily; anything larger is a mistake or an attack. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Free text the host or the log will show (reasons, comments): the wire contract's limit. */
export const MAX_TEXT_BYTES = 1024;

export type JsonObject = Readonly<Record<string, unknown>>;

/**
 * Reads the body as a JSON object. Refuses other content types with 415: browsers cannot send
 * `application/json` cross-origin without a CORS preflight, which this server never answers,
 * so the check is half of the CSRF defence (the Origin check is the other half).
 */
export async function readJsonBody(req: IncomingMessage): Promise<JsonObject> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'application/json') {
    throw new HttpRefusal(
      415,
      'INVALID_ARGUMENT',
      `Content-Type: ${JSON.stringify(type)} is not accepted; send application/json`,
    );
  }
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > MAX_BODY_BYTES) throw tooLarge(declared);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Chunked bodies have no Content-Length: count as they arrive and stop reading at the bound.
    if (size > MAX_BODY_BYTES) throw tooLarge(size);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid('body', 'is not valid JSON; send a JSON object');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid('body', 'must be a JSON object');
  return value as JsonObject;
}

function tooLarge(bytes: number): HttpRefusal {
  return new HttpRefusal(
    413,
    'INVALID_ARGUMENT',
    `body: ${bytes} bytes is too large; send at most ${MAX_BODY_BYTES} bytes`,
  );
}

/** A string field; `required` refuses absent and blank values. */
export function stringField(
  body: JsonObject,
  field: string,
  o: { required?: boolean; maxBytes?: number } = {},
): string {
  const value = body[field];
  if (value === undefined || value === null) {
    if (o.required === true) throw invalid(field, 'is missing; it is required');
    return '';
  }
  if (typeof value !== 'string') throw invalid(field, `expected a string, got ${typeof value}`);
  if (o.required === true && value.trim() === '') throw invalid(field, 'is empty; it is required');
  const max = o.maxBytes ?? MAX_TEXT_BYTES;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > max) throw invalid(field, `is ${bytes} bytes; use at most ${max}`);
  return value;
}

/** A whole number in [min, max]; absent = `fallback`. */
export function intField(
  body: JsonObject,
  field: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const value = body[field];
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(
      field,
      `${JSON.stringify(value)} is out of range; use a whole number from ${min} to ${max}`,
    );
  }
  return value;
}

/** A list of strings; a single string is taken as a one-element list (form inputs send one). */
export function stringListField(body: JsonObject, field: string, maxItems: number): string[] {
  const value = body[field];
  if (value === undefined || value === null) return [];
  const list: unknown[] =
    typeof value === 'string'
      ? value.split(/[\s,]+/).filter((s) => s !== '')
      : Array.isArray(value)
        ? value
        : [value];
  if (list.length > maxItems) throw invalid(field, `has ${list.length} entries; send at most ${maxItems}`);
  return list.map((item, i) => {
    if (typeof item !== 'string') throw invalid(`${field}[${i}]`, `expected a string, got ${typeof item}`);
    if (item.length > 256) throw invalid(`${field}[${i}]`, `is ${item.length} characters; use at most 256`);
    return item;
  });
}

/** Ids the server issued (lease and pending ids): short, plain characters. */
export function idField(body: JsonObject, field: string): string {
  const value = stringField(body, field, { required: true, maxBytes: 128 });
  if (!/^[A-Za-z0-9._-]+$/.test(value))
    throw invalid(field, `${JSON.stringify(value)} is not an id; use the id the server returned`);
  return value;
}
