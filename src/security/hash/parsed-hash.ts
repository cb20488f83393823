/** The shape every hash format parser returns; see formats.ts for the dispatch. */
export interface ParsedHash {
  /** Format name as Kratos's comparator calls it ("argon2id", "bcrypt", "pbkdf2", "md5-crypt" ...). */
  readonly kind: string;
  /** Bytes of memory one comparison holds: the weight it takes in the hashing semaphore. */
  readonly memory: number;
  /** Whether our own hashes use this format family (then NFKC is tried first), or it is a legacy import. */
  readonly own: boolean;
  /** Compares one password form (UTF-8 bytes) with the stored hash in constant time; never throws on mismatch. */
  compare(password: Buffer): Promise<boolean>;
}
