// AWS event-stream codec (application/vnd.amazon.eventstream) for the real-time page.
// Message: total length (u32 BE) | headers length (u32 BE) | prelude CRC32 | headers | payload |
// message CRC32 (of everything before it). Header: name length (u8), name (UTF-8), value type
// (u8), value. Source: AWS Transcribe developer guide, "Setting up a WebSocket stream" /
// "Event stream encoding" (docs.aws.amazon.com/transcribe/latest/dg/event-stream.html).
(function (global) {
  "use strict";

  const CRC_TABLE = (() => {
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
    return table;
  })();

  // CRC-32 (IEEE 802.3, as zlib) of bytes[start, end).
  function crc32(bytes, start = 0, end = bytes.length) {
    let c = 0xffffffff;
    for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  }

  const utf8 = new TextEncoder();
  const fromUtf8 = new TextDecoder("utf-8");
  const STRING = 7;

  // headers: {name: string value}; payload: Uint8Array -> Uint8Array (one message).
  function encode(headers, payload) {
    const parts = [];
    let headersLength = 0;
    for (const [name, value] of Object.entries(headers)) {
      const n = utf8.encode(name), v = utf8.encode(value);
      const h = new Uint8Array(1 + n.length + 1 + 2 + v.length);
      h[0] = n.length;
      h.set(n, 1);
      h[1 + n.length] = STRING;
      new DataView(h.buffer).setUint16(2 + n.length, v.length);
      h.set(v, 4 + n.length);
      parts.push(h);
      headersLength += h.length;
    }
    const total = 12 + headersLength + payload.length + 4;
    const out = new Uint8Array(total);
    const view = new DataView(out.buffer);
    view.setUint32(0, total);
    view.setUint32(4, headersLength);
    view.setUint32(8, crc32(out, 0, 8));
    let offset = 12;
    for (const h of parts) { out.set(h, offset); offset += h.length; }
    out.set(payload, offset);
    view.setUint32(total - 4, crc32(out, 0, total - 4));
    return out;
  }

  function decodeHeaders(bytes, start, end) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headers = {};
    let i = start;
    while (i < end) {
      const nameLength = bytes[i];
      const name = fromUtf8.decode(bytes.subarray(i + 1, i + 1 + nameLength));
      i += 1 + nameLength;
      const type = bytes[i++];
      let value;
      switch (type) {
        case 0: value = true; break;
        case 1: value = false; break;
        case 2: value = view.getInt8(i); i += 1; break;
        case 3: value = view.getInt16(i); i += 2; break;
        case 4: value = view.getInt32(i); i += 4; break;
        case 5: case 8: value = Number(view.getBigInt64(i)); i += 8; break;
        case 6: case 7: {
          const length = view.getUint16(i);
          const raw = bytes.subarray(i + 2, i + 2 + length);
          value = type === STRING ? fromUtf8.decode(raw) : raw.slice();
          i += 2 + length;
          break;
        }
        case 9: value = bytes.slice(i, i + 16); i += 16; break;
        default: throw new Error("event stream: unknown header type " + type);
      }
      headers[name] = value;
    }
    return headers;
  }

  // One message's bytes -> {headers, payload}; throws on a length or CRC mismatch.
  function decode(bytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 16) throw new Error("event stream: message shorter than 16 bytes");
    const total = view.getUint32(0), headersLength = view.getUint32(4);
    if (total !== bytes.length) throw new Error("event stream: length " + total + " but " + bytes.length + " bytes");
    if (view.getUint32(8) !== crc32(bytes, 0, 8)) throw new Error("event stream: prelude CRC mismatch");
    if (view.getUint32(total - 4) !== crc32(bytes, 0, total - 4)) throw new Error("event stream: message CRC mismatch");
    return {
      headers: decodeHeaders(bytes, 12, 12 + headersLength),
      payload: bytes.slice(12 + headersLength, total - 4),
    };
  }

  // Splits a byte stream into messages: push(bytes) -> [{headers, payload}, ...] completed so far.
  class Decoder {
    constructor() { this.buffer = new Uint8Array(0); }
    push(bytes) {
      const joined = new Uint8Array(this.buffer.length + bytes.length);
      joined.set(this.buffer);
      joined.set(bytes, this.buffer.length);
      const messages = [];
      let offset = 0;
      while (joined.length - offset >= 4) {
        const total = new DataView(joined.buffer, offset, 4).getUint32(0);
        if (total < 16) throw new Error("event stream: bad message length " + total);
        if (joined.length - offset < total) break;
        messages.push(decode(joined.subarray(offset, offset + total)));
        offset += total;
      }
      this.buffer = joined.slice(offset);
      return messages;
    }
  }

  global.EventStream = { crc32, encode, decode, Decoder };
})(window);
