/**
 * Reads `metadata_props` out of an ONNX file. onnxruntime-node's session exposes input/output shapes but not
 * the model's metadata, so the affect model contract reads it here: a walk over the top-level fields of the
 * ModelProto protobuf (onnx.proto: field 14 = repeated StringStringEntryProto { key = 1; value = 2 }),
 * skipping everything else (the graph) without decoding it.
 */
const MODEL_METADATA_PROPS = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  forEachField(bytes, 0, bytes.length, (field, start, end) => {
    if (field !== MODEL_METADATA_PROPS) return;
    let key = '';
    let value = '';
    forEachField(bytes, start, end, (f, s, e) => {
      if (f === ENTRY_KEY) key = utf8.decode(bytes.subarray(s, e));
      if (f === ENTRY_VALUE) value = utf8.decode(bytes.subarray(s, e));
    });
    out[key] = value;
  });
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Calls `onLen` for each length-delimited field in bytes[start, end); other wire types are skipped. */
function forEachField(
  bytes: Uint8Array,
  start: number,
  end: number,
  onLen: (field: number, start: number, end: number) => void,
): void {
  let pos = start;
  const varint = (): number => {
    // Numbers, not bit operations: lengths and offsets in a large model can pass 2^31.
    let result = 0;
    let factor = 1;
    for (;;) {
      if (pos >= end) throw new Error('not an ONNX model: truncated protobuf varint');
      const b = bytes[pos++]!;
      result += (b & 0x7f) * factor;
      if (b < 0x80) return result;
      factor *= 128;
    }
  };
  while (pos < end) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === WIRE_VARINT) varint();
    else if (wire === WIRE_I64) pos += 8;
    else if (wire === WIRE_I32) pos += 4;
    else if (wire === WIRE_LEN) {
      const length = varint();
      if (pos + length > end) throw new Error('not an ONNX model: protobuf field runs past the end');
      onLen(field, pos, pos + length);
      pos += length;
    } else throw new Error(`not an ONNX model: unsupported protobuf wire type ${wire}`);
  }
  if (pos !== end) throw new Error('not an ONNX model: protobuf field runs past the end');
}
