/** A codec for one attribute value. Decoders return undefined for malformed input; they never throw. */
export interface AttrCodec<T> {
  decode(value: Buffer, transactionId: Buffer): T | undefined
  encode(value: T, transactionId: Buffer): Buffer
}
