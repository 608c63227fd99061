// Validating readers for JSON input: each names the field path it failed on.

export type Json = Record<string, unknown>;

export class JsonShapeError extends Error {
  override readonly name = 'JsonShapeError';
}

export function fail(path: string, expected: string, got: unknown): never {
  throw new JsonShapeError(`${path}: expected ${expected}, got ${JSON.stringify(got) ?? String(got)}`);
}

export function obj(v: unknown, path: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object', v);
  return v as Json;
}

export function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, 'an array', v);
  return v;
}

export function str(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, 'a string', v);
  return v;
}

export function uint(v: unknown, path: string, max = 0xffffffff): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
    fail(path, `an integer in [0, ${max}]`, v);
  return v;
}
