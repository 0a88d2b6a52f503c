const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A time-ordered GUID (RFC 9562 UUIDv7: 48-bit Unix milliseconds, then 74 random bits). New rows land at the end of
 * their primary-key index instead of at a random page: a group job writes thousands of audit rows a second.
 */
export function newId(): string {
  const bytes = randomBytes();
  let ms = Date.now();
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  let id = "";
  for (let i = 0; i < 16; i++) id += (i === 4 || i === 6 || i === 8 || i === 10 ? "-" : "") + hex[bytes[i]!];
  return id;
}

const hex = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
// Randomness drawn 4 KiB at a time: a group job mints a thousand ids per page.
let pool = new Uint8Array(0);
let offset = 0;
function randomBytes(): Uint8Array {
  if (offset + 16 > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(4096));
    offset = 0;
  }
  offset += 16;
  return pool.subarray(offset - 16, offset);
}

export const isGuid = (value: string): boolean => guidPattern.test(value);

/** GUIDs are stored lower-case so that comparisons in SQL and JS agree. */
export const normalizeGuid = (value: string): string => value.toLowerCase();
